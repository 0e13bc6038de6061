//! The tokenizer embedded in SmolLM2's GGUF must match the reference tokenizer exactly: ChatML
//! special tokens, no prefix space after them, digits, and streaming decode without broken UTF-8.

mod common;

use taskgate_runtime::chat_template::ChatMessage;
use taskgate_runtime::gguf::{GgufTokenizer, IncrementalDecoder, read_content};

fn tokenizer(test: &str) -> Option<GgufTokenizer> {
    let file = common::smollm2_gguf(test)?;
    Some(GgufTokenizer::from_content(&read_content(&file).unwrap()).unwrap())
}

fn pieces(tok: &GgufTokenizer, text: &str) -> Vec<String> {
    tok.encode(text)
        .unwrap()
        .iter()
        .map(|&id| tok.id_to_token(id).unwrap())
        .collect()
}

#[test]
fn chatml_and_digits_tokenize_as_the_reference() {
    let Some(tok) = tokenizer("chatml_and_digits_tokenize_as_the_reference") else {
        return;
    };
    assert_eq!(tok.encode("<|im_start|>system").unwrap(), [1, 9690]);
    assert_eq!(tok.encode("Year 2024").unwrap()[0], 19840);
    assert_eq!(
        pieces(&tok, "<|im_start|>user\nWhat is 12345 + 678?<|im_end|>\n"),
        [
            "<|im_start|>",
            "user",
            "Ċ",
            "What",
            "Ġis",
            "Ġ",
            "1",
            "2",
            "3",
            "4",
            "5",
            "Ġ+",
            "Ġ",
            "6",
            "7",
            "8",
            "?",
            "<|im_end|>",
            "Ċ"
        ]
    );
    assert_eq!(pieces(&tok, "Hello world"), ["Hello", "Ġworld"]);
    assert_eq!(tok.eos_id, 2, "<|im_end|> ends a turn");
    assert!(!tok.add_bos, "SmolLM2 prompts carry no BOS");
    assert!(
        tok.chat_template
            .as_deref()
            .unwrap_or_default()
            .contains("<|im_start|>")
    );
}

#[test]
fn unknown_pre_tokenizers_are_refused_not_guessed() {
    let Some(file) = common::smollm2_gguf("unknown_pre_tokenizers_are_refused_not_guessed") else {
        return;
    };
    let mut content = read_content(&file).unwrap();
    content.metadata.insert(
        "tokenizer.ggml.pre".into(),
        candle_core::quantized::gguf_file::Value::String("mystery".into()),
    );
    let error = GgufTokenizer::from_content(&content)
        .err()
        .expect("refused");
    assert!(
        error
            .to_string()
            .contains("'mystery' has not been verified"),
        "{error}"
    );
}

#[test]
fn streaming_decode_never_emits_broken_utf8() {
    let Some(tok) = tokenizer("streaming_decode_never_emits_broken_utf8") else {
        return;
    };
    let text = "Olá 👋🏽 café — naïve 日本語 done";
    let ids = tok.encode(text).unwrap();
    assert!(
        ids.len() > text.chars().count() / 2,
        "multi-byte characters span several tokens"
    );
    let mut decoder = IncrementalDecoder::new();
    let mut streamed = String::new();
    for id in ids {
        let delta = decoder.push(&tok, id).unwrap();
        assert!(
            !delta.contains('\u{FFFD}'),
            "broken UTF-8 emitted: {delta:?}"
        );
        streamed.push_str(&delta);
    }
    streamed.push_str(&decoder.finish(&tok).unwrap());
    assert_eq!(streamed, text);
    let ids = tok
        .encode("<|im_start|>assistant\nHi there<|im_end|>")
        .unwrap();
    assert_eq!(
        tok.decode(&ids).unwrap(),
        "assistant\nHi there",
        "special tokens are skipped"
    );
}

#[test]
fn the_embedded_chat_template_renders_the_chatml_prompt() {
    let Some(tok) = tokenizer("the_embedded_chat_template_renders_the_chatml_prompt") else {
        return;
    };
    let template = tok
        .chat_template()
        .expect("SmolLM2 ships a template")
        .unwrap();
    let user = ChatMessage::new(
        "user",
        "Write a short story about a robot who learns to paint.",
    );
    let prompt = template.render(&[user], true).unwrap();
    assert_eq!(
        prompt,
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
         <|im_start|>user\nWrite a short story about a robot who learns to paint.<|im_end|>\n<|im_start|>assistant\n"
    );
    let ids = tok.encode(&prompt).unwrap();
    assert_eq!(ids[..2], [1, 9690]);
    assert_eq!(
        *ids.last().unwrap(),
        198,
        "the prompt ends with a newline token"
    );
    let system = ChatMessage::new("system", "Be brief.");
    let prompt = template
        .render(&[system, ChatMessage::new("user", "Hi")], false)
        .unwrap();
    assert_eq!(
        prompt,
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
    );
}
