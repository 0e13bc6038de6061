//! Chat templates (Jinja, as shipped in `tokenizer.chat_template`) rendered with minijinja, so
//! a list of messages becomes exactly the prompt the model was trained on.

use minijinja::{Environment, Error, ErrorKind, Value, context};

use crate::RuntimeError;

/// One chat turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    fn to_value(&self) -> Value {
        Value::from_pairs([
            ("role", self.role.as_str()),
            ("content", self.content.as_str()),
        ])
    }

    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: content.into(),
        }
    }
}

const TEMPLATE: &str = "chat";

pub struct ChatTemplate {
    env: Environment<'static>,
    bos_token: String,
    eos_token: String,
}

/// Templates call `raise_exception("...")` to reject conversations they cannot format.
fn raise_exception(message: String) -> Result<String, Error> {
    Err(Error::new(ErrorKind::InvalidOperation, message))
}

impl ChatTemplate {
    /// `bos_token`/`eos_token` are exposed to the template, as Hugging Face does.
    pub fn new(source: &str, bos_token: &str, eos_token: &str) -> Result<Self, RuntimeError> {
        let mut env = Environment::new();
        env.add_function("raise_exception", raise_exception);
        env.add_template_owned(TEMPLATE, source.to_string())
            .map_err(|e| RuntimeError::Unavailable(format!("invalid chat template: {e}")))?;
        Ok(Self {
            env,
            bos_token: bos_token.into(),
            eos_token: eos_token.into(),
        })
    }

    /// The prompt for `messages`; with `add_generation_prompt`, it ends where the assistant's
    /// reply starts.
    pub fn render(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<String, RuntimeError> {
        let template = self
            .env
            .get_template(TEMPLATE)
            .expect("the template was added at construction. This is a bug.");
        template
            .render(context! {
                messages => messages.iter().map(ChatMessage::to_value).collect::<Vec<_>>(),
                add_generation_prompt => add_generation_prompt,
                bos_token => self.bos_token.as_str(),
                eos_token => self.eos_token.as_str(),
            })
            .map_err(|e| RuntimeError::Inference(format!("chat template: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHATML: &str = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}\
        {% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

    #[test]
    fn renders_messages_and_the_generation_prompt() {
        let t = ChatTemplate::new(CHATML, "", "<|im_end|>").unwrap();
        let prompt = t.render(&[ChatMessage::new("user", "Hi")], true).unwrap();
        assert_eq!(
            prompt,
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn template_errors_are_reported() {
        let t = ChatTemplate::new("{{ raise_exception('only user turns') }}", "", "").unwrap();
        let err = t.render(&[], false).unwrap_err();
        assert!(err.to_string().contains("only user turns"), "{err}");
        assert!(ChatTemplate::new("{% if %}", "", "").is_err());
    }
}
