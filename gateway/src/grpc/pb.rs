//! The generated protobuf messages, clients and servers, one module per proto package (prost
//! refers across packages by relative path, so the nesting mirrors the package names).
#![allow(clippy::all, clippy::pedantic, missing_docs)]

pub mod caikit_data_model {
    pub mod common {
        tonic::include_proto!("caikit_data_model.common");
        pub mod runtime {
            tonic::include_proto!("caikit_data_model.common.runtime");
        }
    }
    pub mod nlp {
        tonic::include_proto!("caikit_data_model.nlp");
    }
    pub mod caikit_nlp {
        tonic::include_proto!("caikit_data_model.caikit_nlp");
    }
    pub mod runtime {
        tonic::include_proto!("caikit_data_model.runtime");
    }
}

pub mod caikit {
    pub mod runtime {
        pub mod nlp {
            tonic::include_proto!("caikit.runtime.nlp");
        }
        pub mod info {
            tonic::include_proto!("caikit.runtime.info");
        }
        pub mod models {
            tonic::include_proto!("caikit.runtime.models");
        }
        pub mod training {
            tonic::include_proto!("caikit.runtime.training");
        }
    }
}

pub mod mmesh {
    tonic::include_proto!("mmesh");
}

/// The encoded descriptors of every taskgate proto, for server reflection and contract tests.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/taskgate_descriptor.bin"));
