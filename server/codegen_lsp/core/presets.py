"""Provider presets: a name fills in the type, base URL, default model and the usual key variable.

Plain data on purpose, in the core (no HTTP client here): configuration resolves provider names
with it, and the providers, the CLI's ``providers`` listing and the seed API read it cheaply. Every preset except ``local`` speaks the
OpenAI-compatible ``POST {base_url}/chat/completions`` protocol; ``api_key_env`` is None for
servers that run on your own machine and need no key. A preset's model is only a default: any
configuration layer may override it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from codegen_lsp.core.infill import FimFormat
from codegen_lsp.core.settings import ProviderType


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    type: ProviderType
    base_url: str | None
    #: None: the provider picks (``local``: the embedded model installed, see core.localmodels)
    model: str | None
    api_key_env: str | None
    note: str
    #: the server's own fill-in-the-middle API, when it has one (None: a fill-in prompt over chat)
    fim_format: FimFormat | None = None
    #: None: the provider setting's default (0.2)
    temperature: float | None = None


_ALL = (
    Preset(
        "openai",
        "openai",
        "https://api.openai.com/v1",
        "gpt-4o-mini",
        "OPENAI_API_KEY",
        "OpenAI's hosted models.",
    ),
    Preset(
        "ollama",
        "openai",
        "http://localhost:11434/v1",
        "qwen2.5-coder:1.5b",
        None,
        "Ollama on this machine; `ollama pull` the model first.",
        fim_format="ollama",
    ),
    Preset(
        "llamacpp",
        "openai",
        "http://localhost:8080/v1",
        "default",
        None,
        "llama.cpp's llama-server; it serves the one model it was started with.",
        fim_format="llamacpp-infill",
    ),
    Preset(
        "vllm",
        "openai",
        "http://localhost:8000/v1",
        "Qwen/Qwen2.5-Coder-7B-Instruct",
        None,
        "A vLLM server (`vllm serve MODEL`); set the model it serves.",
    ),
    Preset(
        "lmstudio",
        "openai",
        "http://localhost:1234/v1",
        "qwen2.5-coder-7b-instruct",
        None,
        "LM Studio's local server; load the model in LM Studio first.",
    ),
    Preset(
        "openrouter",
        "openai",
        "https://openrouter.ai/api/v1",
        "qwen/qwen-2.5-coder-32b-instruct",
        "OPENROUTER_API_KEY",
        "OpenRouter: many vendors' models behind one key.",
    ),
    Preset(
        "groq",
        "openai",
        "https://api.groq.com/openai/v1",
        "llama-3.3-70b-versatile",
        "GROQ_API_KEY",
        "Groq's hosted open models (fast).",
    ),
    Preset(
        "deepseek",
        "openai",
        "https://api.deepseek.com/v1",
        "deepseek-chat",
        "DEEPSEEK_API_KEY",
        "DeepSeek's API.",
    ),
    Preset(
        "mistral",
        "openai",
        "https://api.mistral.ai/v1",
        "codestral-latest",
        "MISTRAL_API_KEY",
        "Mistral's API (Codestral for code).",
        fim_format="mistral",
    ),
    Preset(
        "together",
        "openai",
        "https://api.together.xyz/v1",
        "Qwen/Qwen2.5-Coder-32B-Instruct",
        "TOGETHER_API_KEY",
        "Together AI's hosted open models.",
    ),
    Preset(
        "gemini",
        "openai",
        "https://generativelanguage.googleapis.com/v1beta/openai",
        "gemini-2.0-flash",
        "GEMINI_API_KEY",
        "Google Gemini through its OpenAI-compatible endpoint.",
    ),
    Preset(
        "mishalsgpt",
        "openai",
        "https://mishalsgpt.vercel.app/api/openai/v1",
        "gpt-3.5-turbo",
        None,
        "The keyless public endpoint this project's ancestor used; its availability is not guaranteed.",
    ),
    Preset(
        "local",
        "local",
        None,
        None,
        None,
        "An embedded offline coder model, run in-process by llama.cpp (needs the [local] extra).",
        # greedy: a small model's best answer is its most likely one (bench.quality, 40-problem
        # subset: 52.5 % at 0.2, 57.5 % at 0), and the same request gives the same code
        temperature=0.0,
    ),
)

#: every preset by name, in the order ``codegen-lsp providers`` lists them
PRESETS: Mapping[str, Preset] = MappingProxyType({p.name: p for p in _ALL})


def get_preset(name: str) -> Preset | None:
    """The preset called ``name`` (case-insensitive), or None."""
    return PRESETS.get(name.strip().lower())
