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
    /// The server is on this machine (its host is loopback), whatever the preset says: a
    /// "local" preset pointed at another host sends the transcript there.
    pub local: bool,
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
        let url = reqwest::Url::parse(&base_url).map_err(|e| LlmError::BadBaseUrl(format!("{base_url}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(LlmError::BadBaseUrl(format!("{base_url}: not an http(s) server address")));
        }
        let api_key = resolve_key(&p, &url, api_key, || match p.local {
            // Local servers need no key: don't touch the keyring for them.
            true => key_from_env(&p),
            false => key_from_env(&p).or_else(|| key_from_keyring(p.id).ok().flatten()),
        })?;
        if api_key.is_none() && !p.local && p.id != "custom" {
            return Err(LlmError::NoKey {
                provider: p.label.to_string(),
                env: p.key_env.unwrap_or("TINGJI_LLM_API_KEY").to_string(),
            });
        }
        Ok(ProviderConfig {
            provider: p,
            local: is_loopback(&url),
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

/// The provider's own variable only (`TINGJI_LLM_API_KEY` is the custom provider's).
fn key_from_env(p: &Provider) -> Option<Secret> {
    p.key_env
        .and_then(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()))
        .map(|s| Secret::new(s.trim()))
}

/// Whether `url`'s host is this machine: `localhost`, 127.0.0.0/8 or ::1.
pub fn is_loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or("").trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost"),
    }
}

/// Which key goes to `url`. A key never travels over plain http except to this machine. One
/// the user gave for this call is sent there (or refused when it would travel in the clear); a
/// key looked up (`lookup`: the provider's variable, the keyring) belongs to the preset's
/// server and is only sent to that origin — the custom provider's to the server the user set.
fn resolve_key(
    p: &Provider,
    url: &reqwest::Url,
    given: Option<Secret>,
    lookup: impl FnOnce() -> Option<Secret>,
) -> Result<Option<Secret>, LlmError> {
    let in_clear = url.scheme() != "https" && !is_loopback(url);
    let origin = url.origin().ascii_serialization();
    if given.is_some() {
        if in_clear {
            return Err(LlmError::KeyNotSent(format!("an API key is not sent over plain http to {origin}; use https")));
        }
        return Ok(given);
    }
    let own_origin = p.base_url.is_empty()
        || reqwest::Url::parse(p.base_url).is_ok_and(|u| u.origin() == url.origin());
    if in_clear || !own_origin {
        tracing::debug!(provider = p.id, %origin, "no stored key is sent to this server");
        return match (p.local, p.id) {
            (true, _) | (_, "custom") => Ok(None),
            _ => Err(LlmError::KeyNotSent(format!(
                "the {} key is only sent to {}; for {origin} choose the custom provider",
                p.label, p.base_url
            ))),
        };
    }
    Ok(lookup())
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
    fn keys_go_only_to_their_own_server_and_never_in_the_clear() {
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        let key = || Some(Secret::new("sk-stored"));
        let p = |id| Provider::find(id).unwrap();
        // A stored key goes to its preset's server…
        let k = resolve_key(&p("openai"), &url("https://api.openai.com/v1"), None, key).unwrap();
        assert_eq!(k, key());
        // …not to another host, nor the same host over http.
        for u in ["https://evil.example/v1", "http://api.openai.com/v1", "https://api.openai.com:8443/v1"] {
            let e = resolve_key(&p("openai"), &url(u), None, key).unwrap_err();
            assert_eq!(e.code(), "llm_key_not_sent", "{u}");
        }
        // The custom provider's key goes to the server the user set, unless in the clear: a
        // test connection to an http host on the network carries no Authorization.
        assert_eq!(resolve_key(&p("custom"), &url("https://llm.example/v1"), None, key).unwrap(), key());
        assert_eq!(resolve_key(&p("custom"), &url("http://192.168.1.20:8000/v1"), None, key).unwrap(), None);
        assert_eq!(resolve_key(&p("custom"), &url("http://localhost:8000/v1"), None, key).unwrap(), key());
        // A local preset pointed elsewhere gets no key and is not local.
        assert_eq!(resolve_key(&p("ollama"), &url("http://10.0.0.5:11434/v1"), None, key).unwrap(), None);
        let c = ProviderConfig::new("ollama", Some("http://10.0.0.5:11434/v1"), None, None).unwrap();
        assert!(!c.local && c.api_key.is_none());
        assert!(ProviderConfig::new("ollama", None, None, None).unwrap().local);
        assert!(ProviderConfig::new("custom", Some("http://[::1]:9/v1"), None, None).unwrap().local);
        // A key given for this call is sent where asked, but never in the clear.
        let given = Some(Secret::new("sk-given"));
        assert_eq!(resolve_key(&p("custom"), &url("https://llm.example/v1"), given.clone(), key).unwrap(), given);
        assert_eq!(resolve_key(&p("openai"), &url("http://127.0.0.1:9/v1"), given.clone(), key).unwrap(), given);
        let e = resolve_key(&p("custom"), &url("http://llm.example/v1"), given, key).unwrap_err();
        assert_eq!(e.code(), "llm_key_not_sent");
        assert!(!e.to_string().contains("sk-given"), "{e}");
        assert_eq!(ProviderConfig::new("custom", Some("ftp://x/v1"), None, None).unwrap_err().code(), "llm_bad_url");
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
