"""Contains all the data models used in inputs/outputs"""

from .assistant_message import AssistantMessage
from .chat_choice import ChatChoice
from .chat_completion import ChatCompletion
from .chat_completion_chunk import ChatCompletionChunk
from .chat_delta import ChatDelta
from .chat_logprobs import ChatLogprobs
from .chat_message import ChatMessage
from .chat_role import ChatRole
from .chunk_choice import ChunkChoice
from .classification_result import ClassificationResult
from .classification_results import ClassificationResults
from .classifier_train_parameters import ClassifierTrainParameters
from .classifier_train_request import ClassifierTrainRequest
from .completion import Completion
from .completion_choice import CompletionChoice
from .completion_finish_reason import CompletionFinishReason
from .completion_logprobs import CompletionLogprobs
from .completion_logprobs_top_logprobs_type_0_item import (
    CompletionLogprobsTopLogprobsType0Item,
)
from .completion_usage import CompletionUsage
from .config_reload import ConfigReload
from .content_part import ContentPart
from .content_part_kind import ContentPartKind
from .create_chat_completion_request import CreateChatCompletionRequest
from .create_completion_request import CreateCompletionRequest
from .create_embedding_request import CreateEmbeddingRequest
from .create_embedding_response import CreateEmbeddingResponse
from .create_rerank_request import CreateRerankRequest
from .data_stream_source_classification_train_record import (
    DataStreamSourceClassificationTrainRecord,
)
from .data_stream_source_generation_train_record import (
    DataStreamSourceGenerationTrainRecord,
)
from .decoding_method import DecodingMethod
from .deploy_model_request import DeployModelRequest
from .deploy_model_request_backend_type_0 import DeployModelRequestBackendType0
from .deploy_model_request_config_type_0 import DeployModelRequestConfigType0
from .document_text import DocumentText
from .embedding import Embedding
from .embedding_parameters import EmbeddingParameters
from .embedding_request import EmbeddingRequest
from .embedding_result import EmbeddingResult
from .embedding_results import EmbeddingResults
from .embedding_tasks_request import EmbeddingTasksRequest
from .encoding_format import EncodingFormat
from .error_body import ErrorBody
from .exponential_decay_length_penalty import ExponentialDecayLengthPenalty
from .field_error import FieldError
from .file_reference import FileReference
from .finish_reason import FinishReason
from .float_sequence import FloatSequence
from .generated_text_result import GeneratedTextResult
from .generated_text_stream_result import GeneratedTextStreamResult
from .generated_token import GeneratedToken
from .inline_records_classification_train_record import (
    InlineRecordsClassificationTrainRecord,
)
from .inline_records_classification_train_record_data_item import (
    InlineRecordsClassificationTrainRecordDataItem,
)
from .inline_records_generation_train_record import InlineRecordsGenerationTrainRecord
from .inline_records_generation_train_record_data_item import (
    InlineRecordsGenerationTrainRecordDataItem,
)
from .input_usage import InputUsage
from .list_of_vector_1d import ListOfVector1D
from .load_policy import LoadPolicy
from .model_file import ModelFile
from .model_info import ModelInfo
from .model_info_metadata import ModelInfoMetadata
from .model_list import ModelList
from .model_object import ModelObject
from .model_state_answer import ModelStateAnswer
from .models_info import ModelsInfo
from .open_ai_error import OpenAiError
from .open_ai_error_detail import OpenAiErrorDetail
from .peft_tuning_type import PeftTuningType
from .producer_id import ProducerId
from .prompt_tuning_init import PromptTuningInit
from .prompt_tuning_train_parameters import PromptTuningTrainParameters
from .prompt_tuning_train_request import PromptTuningTrainRequest
from .records_file import RecordsFile
from .rerank_document import RerankDocument
from .rerank_inputs import RerankInputs
from .rerank_parameters import RerankParameters
from .rerank_request import RerankRequest
from .rerank_response import RerankResponse
from .rerank_result import RerankResult
from .rerank_results import RerankResults
from .rerank_score import RerankScore
from .rerank_score_document_type_0 import RerankScoreDocumentType0
from .rerank_scores import RerankScores
from .rerank_tasks_inputs import RerankTasksInputs
from .rerank_tasks_parameters import RerankTasksParameters
from .rerank_tasks_request import RerankTasksRequest
from .reranked_document import RerankedDocument
from .runtime_info import RuntimeInfo
from .sentence_similarity_inputs import SentenceSimilarityInputs
from .sentence_similarity_request import SentenceSimilarityRequest
from .sentence_similarity_result import SentenceSimilarityResult
from .sentence_similarity_results import SentenceSimilarityResults
from .sentence_similarity_scores import SentenceSimilarityScores
from .sentence_similarity_tasks_inputs import SentenceSimilarityTasksInputs
from .sentence_similarity_tasks_request import SentenceSimilarityTasksRequest
from .stream_options import StreamOptions
from .text_classification_parameters import TextClassificationParameters
from .text_classification_request import TextClassificationRequest
from .text_generation_parameters import TextGenerationParameters
from .text_generation_request import TextGenerationRequest
from .token import Token
from .token_classification_parameters import TokenClassificationParameters
from .token_classification_request import TokenClassificationRequest
from .token_classification_result import TokenClassificationResult
from .token_classification_results import TokenClassificationResults
from .token_logprob import TokenLogprob
from .token_logprob_top_logprobs_item import TokenLogprobTopLogprobsItem
from .token_stream_details import TokenStreamDetails
from .tokenization_parameters import TokenizationParameters
from .tokenization_request import TokenizationRequest
from .tokenization_results import TokenizationResults
from .training_job import TrainingJob
from .training_list import TrainingList
from .training_progress import TrainingProgress
from .training_state import TrainingState
from .training_status_response import TrainingStatusResponse
from .tuning_config import TuningConfig
from .undeploy_model_request import UndeployModelRequest
from .vector_1d import Vector1D

__all__ = (
    "AssistantMessage",
    "ChatChoice",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatDelta",
    "ChatLogprobs",
    "ChatMessage",
    "ChatRole",
    "ChunkChoice",
    "ClassificationResult",
    "ClassificationResults",
    "ClassifierTrainParameters",
    "ClassifierTrainRequest",
    "Completion",
    "CompletionChoice",
    "CompletionFinishReason",
    "CompletionLogprobs",
    "CompletionLogprobsTopLogprobsType0Item",
    "CompletionUsage",
    "ConfigReload",
    "ContentPart",
    "ContentPartKind",
    "CreateChatCompletionRequest",
    "CreateCompletionRequest",
    "CreateEmbeddingRequest",
    "CreateEmbeddingResponse",
    "CreateRerankRequest",
    "DataStreamSourceClassificationTrainRecord",
    "DataStreamSourceGenerationTrainRecord",
    "DecodingMethod",
    "DeployModelRequest",
    "DeployModelRequestBackendType0",
    "DeployModelRequestConfigType0",
    "DocumentText",
    "Embedding",
    "EmbeddingParameters",
    "EmbeddingRequest",
    "EmbeddingResult",
    "EmbeddingResults",
    "EmbeddingTasksRequest",
    "EncodingFormat",
    "ErrorBody",
    "ExponentialDecayLengthPenalty",
    "FieldError",
    "FileReference",
    "FinishReason",
    "FloatSequence",
    "GeneratedTextResult",
    "GeneratedTextStreamResult",
    "GeneratedToken",
    "InlineRecordsClassificationTrainRecord",
    "InlineRecordsClassificationTrainRecordDataItem",
    "InlineRecordsGenerationTrainRecord",
    "InlineRecordsGenerationTrainRecordDataItem",
    "InputUsage",
    "ListOfVector1D",
    "LoadPolicy",
    "ModelFile",
    "ModelInfo",
    "ModelInfoMetadata",
    "ModelList",
    "ModelObject",
    "ModelStateAnswer",
    "ModelsInfo",
    "OpenAiError",
    "OpenAiErrorDetail",
    "PeftTuningType",
    "ProducerId",
    "PromptTuningInit",
    "PromptTuningTrainParameters",
    "PromptTuningTrainRequest",
    "RecordsFile",
    "RerankDocument",
    "RerankInputs",
    "RerankParameters",
    "RerankRequest",
    "RerankResponse",
    "RerankResult",
    "RerankResults",
    "RerankScore",
    "RerankScoreDocumentType0",
    "RerankScores",
    "RerankTasksInputs",
    "RerankTasksParameters",
    "RerankTasksRequest",
    "RerankedDocument",
    "RuntimeInfo",
    "SentenceSimilarityInputs",
    "SentenceSimilarityRequest",
    "SentenceSimilarityResult",
    "SentenceSimilarityResults",
    "SentenceSimilarityScores",
    "SentenceSimilarityTasksInputs",
    "SentenceSimilarityTasksRequest",
    "StreamOptions",
    "TextClassificationParameters",
    "TextClassificationRequest",
    "TextGenerationParameters",
    "TextGenerationRequest",
    "Token",
    "TokenClassificationParameters",
    "TokenClassificationRequest",
    "TokenClassificationResult",
    "TokenClassificationResults",
    "TokenLogprob",
    "TokenLogprobTopLogprobsItem",
    "TokenStreamDetails",
    "TokenizationParameters",
    "TokenizationRequest",
    "TokenizationResults",
    "TrainingJob",
    "TrainingList",
    "TrainingProgress",
    "TrainingState",
    "TrainingStatusResponse",
    "TuningConfig",
    "UndeployModelRequest",
    "Vector1D",
)
