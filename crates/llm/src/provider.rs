//! Provider presets (they only fill a base URL, a default model and where the key comes from)
//! and API-key lookup: the environment first, then the OS keyring.

use std::fmt;
use std::time::Duration;

use crate::LlmError;

/// How a server takes "answer in JSON following this schema".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonMode {
    /// OpenAI-style `{"type":"json_schema","json_schema":{"name":…,"schema":…}}`.
    JsonSchema,
    /// `{"type":"json_object","schema":…}` (llama-cpp-python's extension; also plain JSON mode
    /// on servers that ignore the schema field).
    JsonObjectWithSchema,
    /// `{"type":"json_object"}`: valid JSON, schema only in the prompt.
    JsonObject,
    /// No `response_format` at all; the prompt asks for JSON.
    PromptOnly,
}

impl JsonMode {
    /// The next weaker mode, used when a server rejects this one.
    pub fn weaker(self) -> Option<JsonMode> {
        match self {
            JsonMode::JsonSchema => Some(JsonMode::JsonObjectWithSchema),
            JsonMode::JsonObjectWithSchema => Some(JsonMode::JsonObject),
            JsonMode::JsonObject => Some(JsonMode::PromptOnly),
            JsonMode::PromptOnly => None,
        }
    }
}

/// A known kind of server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Provider {
    pub id: &'static str,
    pub label: &'static str,
    /// Empty for "custom" (the user gives one).
    pub base_url: &'static str,
    pub default_model: &'static str,
    /// Environment variable holding the key; `None` for local servers that need none.
    pub key_env: Option<&'static str>,
    pub json_mode: JsonMode,
    /// Runs on the user's machine (nothing leaves it).
    pub local: bool,
}

pub const PROVIDERS: &[Provider] = &[
    Provider {
        id: "dashscope",
        label: "DashScope / Qwen (Alibaba Cloud, compatible mode)",
        base_url: "https://dashscope.aliyuncs.com/compatible-mode/v1",
        default_model: "qwen-plus",
        key_env: Some("DASHSCOPE_API_KEY"),
        json_mode: JsonMode::JsonObject,
        local: false,
    },
    Provider {
        id: "openai",
        label: "OpenAI",
        base_url: "https://api.openai.com/v1",
        default_model: "gpt-4o-mini",
        key_env: Some("OPENAI_API_KEY"),
        json_mode: JsonMode::JsonObject,
        local: false,
    },
    Provider {
        id: "deepseek",
        label: "DeepSeek",
        base_url: "https://api.deepseek.com/v1",
        default_model: "deepseek-chat",
        key_env: Some("DEEPSEEK_API_KEY"),
        json_mode: JsonMode::JsonObject,
        local: false,
    },
    Provider {
        id: "ollama",
        label: "Ollama",
        base_url: "http://127.0.0.1:11434/v1",
        default_model: "qwen2.5:7b",
        key_env: None,
        json_mode: JsonMode::JsonSchema,
        local: true,
    },
    Provider {
        id: "lmstudio",
        label: "LM Studio",
        base_url: "http://127.0.0.1:1234/v1",
        default_model: "qwen2.5-7b-instruct",
        key_env: None,
        json_mode: JsonMode::JsonSchema,
        local: true,
    },
    Provider {
        id: "llamacpp",
        label: "llama.cpp server",
        base_url: "http://127.0.0.1:8080/v1",
        default_model: "default",
        key_env: None,
        json_mode: JsonMode::JsonSchema,
        local: true,
    },
    Provider {
        id: "vllm",
        label: "vLLM",
        base_url: "http://127.0.0.1:8000/v1",
        default_model: "Qwen/Qwen2.5-7B-Instruct",
        key_env: None,
        json_mode: JsonMode::JsonSchema,
        local: true,
    },
    Provider {
        id: "custom",
        label: "Custom OpenAI-compatible server",
        base_url: "",
        default_model: "default",
        key_env: Some("TINGJI_LLM_API_KEY"),
        json_mode: JsonMode::JsonObject,
        local: false,
    },
];

/// The built-in model's provider id (not an HTTP server; see [`crate::LocalChat`]).
pub const BUILTIN: &str = "builtin";

impl Provider {
    pub fn find(id: &str) -> Result<Provider, LlmError> {
        let id = id.trim().to_ascii_lowercase();
        let id = match id.as_str() {
            "qwen" | "tongyi" | "aliyun" => "dashscope",
            "lm-studio" | "lm_studio" => "lmstudio",
            "llama.cpp" | "llama-cpp" | "llama_cpp" | "llama-server" => "llamacpp",
            other => other,
        };
        PROVIDERS.iter().copied().find(|p| p.id == id).ok_or_else(|| {
            let mut all: Vec<&str> = PROVIDERS.iter().map(|p| p.id).collect();
            all.push(BUILTIN);
            LlmError::UnknownProvider(id.to_string(), all.join(", "))
        })
    }
}

/// An API key. Never printed: `Debug` and `Display` show `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Everything needed to talk to one server.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub provider: Provider,
    /// Ends without a slash, includes the `/v1` part.
    pub base_url: String,
    pub model: String,
    pub api_key: Option<Secret>,
    pub json_mode: JsonMode,
    pub connect_timeout: Duration,
    /// Longest silence allowed while waiting for the next byte (prompt processing on a CPU can
    /// take a minute before the first token).
    pub idle_timeout: Duration,
    /// Attempts per request, including the first.
    pub max_attempts: u32,
    /// First backoff; doubles each retry.
    pub backoff: Duration,
    pub stream: bool,
    /// Context window when the user knows it (used for chunking long meetings).
    pub context_tokens: Option<usize>,
}

impl ProviderConfig {
    /// A preset with the user's overrides. The key comes from `api_key`, else the provider's
    /// environment variable, else the OS keyring (service "tingji", user = provider id).
    pub fn new(
        provider: &str,
        base_url: Option<&str>,
        model: Option<&str>,
        api_key: Option<Secret>,
    ) -> Result<ProviderConfig, LlmError> {
        let p = Provider::find(provider)?;
        let base_url = base_url.unwrap_or(p.base_url).trim_end_matches('/').to_string();
        if base_url.is_empty() {
            return Err(LlmError::NoBaseUrl(p.id.to_string()));
        }
        let api_key = match api_key {
            Some(k) => Some(k),
            // Local servers need no key: don't touch the keyring for them.
            None if p.local => key_from_env(&p),
            None => key_from_env(&p).or_else(|| key_from_keyring(p.id).ok().flatten()),
        };
        if api_key.is_none() && !p.local && p.id != "custom" {
            return Err(LlmError::NoKey {
                provider: p.label.to_string(),
                env: p.key_env.unwrap_or("TINGJI_LLM_API_KEY").to_string(),
            });
        }
        Ok(ProviderConfig {
            provider: p,
            base_url,
            model: model.unwrap_or(p.default_model).to_string(),
            api_key,
            json_mode: p.json_mode,
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(180),
            max_attempts: 4,
            backoff: Duration::from_millis(500),
            stream: true,
            context_tokens: None,
        })
    }
}

fn key_from_env(p: &Provider) -> Option<Secret> {
    [p.key_env, Some("TINGJI_LLM_API_KEY")]
        .into_iter()
        .flatten()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()))
        .map(|s| Secret::new(s.trim()))
}

/// Reads the key stored for `provider` in the OS keyring. `Ok(None)` when none is stored;
/// an error when there is no keyring service (e.g. a headless machine without one).
pub fn key_from_keyring(provider: &str) -> Result<Option<Secret>, LlmError> {
    let entry = keyring::Entry::new("tingji", provider).map_err(|e| LlmError::Keyring(e.to_string()))?;
    match entry.get_password() {
        Ok(k) => Ok(Some(Secret::new(k))),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(LlmError::Keyring(e.to_string())),
    }
}

/// Stores (or, with `None`, removes) the key for `provider` in the OS keyring.
pub fn store_key(provider: &str, key: Option<&Secret>) -> Result<(), LlmError> {
    let entry = keyring::Entry::new("tingji", provider).map_err(|e| LlmError::Keyring(e.to_string()))?;
    let r = match key {
        Some(k) => entry.set_password(k.expose()),
        None => match entry.delete_credential() {
            Err(keyring::Error::NoEntry) => Ok(()),
            r => r,
        },
    };
    r.map_err(|e| LlmError::Keyring(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_fill_url_and_model_and_aliases_work() {
        let c = ProviderConfig::new("llama.cpp", None, None, None).unwrap();
        assert_eq!(c.base_url, "http://127.0.0.1:8080/v1");
        let c = ProviderConfig::new("ollama", Some("http://127.0.0.1:9/v1/"), Some("m"), None).unwrap();
        assert_eq!((c.base_url.as_str(), c.model.as_str()), ("http://127.0.0.1:9/v1", "m"));
        let e = ProviderConfig::new("nope", None, None, None).unwrap_err();
        assert_eq!(e.code(), "llm_unknown_provider");
        assert!(e.to_string().contains("dashscope") && e.to_string().contains("builtin"));
        assert_eq!(ProviderConfig::new("custom", None, None, None).unwrap_err().code(), "llm_no_base_url");
    }

    #[test]
    fn secrets_never_print() {
        let c = ProviderConfig::new("openai", None, None, Some(Secret::new("sk-very-secret"))).unwrap();
        let shown = format!("{c:?} {}", c.api_key.as_ref().unwrap());
        assert!(!shown.contains("sk-very-secret"), "{shown}");
    }
}

#[cfg(test)]
mod key_tests {
    use super::*;

    #[test]
    fn a_cloud_provider_without_a_key_names_the_variable_to_set() {
        if std::env::var_os("DEEPSEEK_API_KEY").is_some() || std::env::var_os("TINGJI_LLM_API_KEY").is_some() {
            return; // a developer's own key is configured; the keyring path below still runs
        }
        // No secret-service daemon on a headless machine: the lookup fails softly, then NoKey.
        let e = ProviderConfig::new("deepseek", None, None, None).unwrap_err();
        assert_eq!(e.code(), "llm_no_key");
        assert!(e.to_string().contains("DEEPSEEK_API_KEY"), "{e}");
    }

    #[test]
    fn keyring_without_a_service_is_an_error_not_a_crash() {
        match key_from_keyring("tingji-test-provider") {
            Ok(None) => {}
            Ok(Some(_)) => panic!("no key was stored"),
            Err(e) => assert_eq!(e.code(), "keyring"),
        }
    }
}
