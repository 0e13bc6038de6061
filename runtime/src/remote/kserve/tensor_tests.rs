use super::*;

fn tensor(datatype: &str, shape: &[i64], values: Values) -> OutputTensor {
    OutputTensor {
        name: "out".into(),
        datatype: datatype.into(),
        shape: shape.to_vec(),
        values,
    }
}

fn raw<T: Copy, const N: usize>(items: &[T], to_le: fn(T) -> [u8; N]) -> Values {
    Values::Raw(items.iter().flat_map(|x| to_le(*x)).collect())
}

#[test]
fn raw_outputs_of_every_numeric_datatype_decode_little_endian() {
    let expected = vec![vec![1.0, -2.0], vec![3.5, 4.0]];
    let floats = [1.0f32, -2.0, 3.5, 4.0];
    let cases = [
        ("FP32", raw(&floats, f32::to_le_bytes)),
        ("FP64", raw(&floats.map(f64::from), f64::to_le_bytes)),
        ("FP16", raw(&floats.map(f16::from_f32), f16::to_le_bytes)),
    ];
    for (datatype, values) in cases {
        let rows = tensor(datatype, &[2, 2], values).rows(2).unwrap();
        assert_eq!(rows, expected, "{datatype}");
    }
    let ints = vec![vec![1.0, -2.0], vec![3.0, 4.0]];
    let cases = [
        ("INT8", raw(&[1i8, -2, 3, 4], i8::to_le_bytes)),
        ("INT16", raw(&[1i16, -2, 3, 4], i16::to_le_bytes)),
        ("INT32", raw(&[1i32, -2, 3, 4], i32::to_le_bytes)),
        ("INT64", raw(&[1i64, -2, 3, 4], i64::to_le_bytes)),
    ];
    for (datatype, values) in cases {
        assert_eq!(tensor(datatype, &[2, 2], values).rows(2).unwrap(), ints);
    }
    let unsigned = vec![vec![1.0, 200.0], vec![3.0, 4.0]];
    let cases = [
        ("UINT8", raw(&[1u8, 200, 3, 4], u8::to_le_bytes)),
        ("UINT16", raw(&[1u16, 200, 3, 4], u16::to_le_bytes)),
        ("UINT32", raw(&[1u32, 200, 3, 4], u32::to_le_bytes)),
        ("UINT64", raw(&[1u64, 200, 3, 4], u64::to_le_bytes)),
    ];
    for (datatype, values) in cases {
        assert_eq!(tensor(datatype, &[2, 2], values).rows(2).unwrap(), unsigned);
    }
}

#[test]
fn a_one_dimensional_output_is_one_value_per_text() {
    let rows = tensor("INT64", &[3], Values::Numbers(vec![5.0, 6.0, 7.0]))
        .rows(3)
        .unwrap();
    assert_eq!(rows, vec![vec![5.0], vec![6.0], vec![7.0]]);
}

#[test]
fn unusable_tensors_are_refused_with_what_was_expected() {
    let numbers = |n: usize| Values::Numbers(vec![0.0; n]);
    let error = |t: OutputTensor, texts| t.rows(texts).unwrap_err().to_string();
    assert_eq!(
        error(tensor("FP32", &[2, 2, 4], numbers(16)), 2),
        "output 'out' has shape [2, 2, 4]; expected [2, d] or [2], one row per input text"
    );
    assert_eq!(
        error(tensor("FP32", &[3, 4], numbers(12)), 2),
        "output 'out' has shape [3, 4]; expected [2, d] or [2], one row per input text"
    );
    assert!(error(tensor("FP32", &[2, 0], numbers(0)), 2).contains("shape [2, 0]"));
    assert_eq!(
        error(tensor("FP32", &[2, 4], numbers(7)), 2),
        "output 'out' of shape [2, 4] carries 7 values"
    );
    assert!(
        error(tensor("BYTES", &[2], numbers(2)), 2)
            .starts_with("output 'out' has datatype BYTES; expected a number type")
    );
    assert!(error(tensor("BOOL", &[2], numbers(2)), 2).contains("datatype BOOL"));
    assert_eq!(
        error(tensor("FP32", &[2], Values::Raw(vec![0; 7])), 2),
        "output 'out' (FP32) has 7 raw bytes, not a multiple of 4"
    );
    assert_eq!(
        error(tensor("FP64", &[2], Values::Raw(vec![0; 8])), 2),
        "output 'out' of shape [2] carries 1 values"
    );
}

#[test]
fn rest_data_may_be_flat_or_nested_but_only_numbers() {
    let nested = serde_json::json!([[1, 2.5], [3, 4]]);
    assert_eq!(
        json_numbers("o", &nested).unwrap(),
        vec![1.0, 2.5, 3.0, 4.0]
    );
    let flat = serde_json::json!([1, 2]);
    assert_eq!(json_numbers("o", &flat).unwrap(), vec![1.0, 2.0]);
    let text = serde_json::json!(["positive"]);
    assert_eq!(
        json_numbers("o", &text).unwrap_err().to_string(),
        "output 'o' has a non-numeric value in its data: \"positive\""
    );
}

#[test]
fn outputs_are_chosen_by_name_or_first() {
    let outputs = vec![
        tensor("FP32", &[1], Values::Numbers(vec![1.0])),
        OutputTensor {
            name: "second".into(),
            ..tensor("FP32", &[1], Values::Numbers(vec![2.0]))
        },
    ];
    assert_eq!(select(outputs.clone(), None).unwrap().name, "out");
    assert_eq!(
        select(outputs.clone(), Some("second")).unwrap().name,
        "second"
    );
    assert_eq!(
        select(outputs, Some("third")).unwrap_err().to_string(),
        "the answer has no output 'third' (it has: out, second)"
    );
    assert_eq!(select(Vec::new(), None), Err(TensorError::NoOutputs));
}

#[test]
fn bytes_pack_as_length_prefixed_utf8() {
    let packed = pack_bytes(&["hé".to_string(), String::new()]);
    assert_eq!(packed, [3, 0, 0, 0, b'h', 0xc3, 0xa9, 0, 0, 0, 0]);
}
