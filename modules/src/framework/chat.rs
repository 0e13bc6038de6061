//! A model's chat format: how a list of messages becomes the prompt it was trained on. Models
//! offer it as an extension (an in-process GGUF model from its own `tokenizer.chat_template`,
//! any text-generation model from `chat_template` in its config), so every wire that speaks in
//! messages renders them the same way.

use taskgate_runtime::chat_template::{ChatMessage, ChatTemplate};

use crate::TaskError;

pub struct ChatFormat {
    template: ChatTemplate,
}

impl std::fmt::Debug for ChatFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatFormat").finish_non_exhaustive()
    }
}

impl ChatFormat {
    pub fn new(template: ChatTemplate) -> Self {
        Self { template }
    }

    /// The prompt for `messages`, ending where the assistant's reply starts. A conversation the
    /// template refuses (it calls `raise_exception`) is the caller's mistake, named on `field`.
    pub fn prompt(&self, messages: &[ChatMessage], field: &str) -> Result<String, TaskError> {
        self.template
            .render(messages, true)
            .map_err(|e| TaskError::invalid_field(field, e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_conversation_names_the_field() {
        let template = ChatTemplate::new(
            "{% if messages[0].role != 'user' %}{{ raise_exception('the first turn must be the user') }}{% endif %}{{ messages[0].content }}",
            "",
            "",
        )
        .unwrap();
        let format = ChatFormat::new(template);
        assert_eq!(
            format
                .prompt(&[ChatMessage::new("user", "hi")], "/messages")
                .unwrap(),
            "hi"
        );
        let error = format
            .prompt(&[ChatMessage::new("assistant", "hi")], "/messages")
            .unwrap_err();
        let TaskError::InvalidArgument { fields, .. } = &error else {
            panic!("{error:?}")
        };
        assert_eq!(fields[0].path, "/messages");
        assert!(fields[0].message.contains("the first turn"), "{error}");
    }
}
