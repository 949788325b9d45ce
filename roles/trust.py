"""Whose say sends an API key where: the trust model for a scenario file's `llm:` block (docs/roles.md).

A scenario file may name an endpoint (`llm.base_url`) and a model, but it is not the user: the key in
`llm.api_key_env` is sent only when the user said so, on the command line (`--api-key-env NAME`,
`--allow-endpoint URL`, `--base-url URL`) or in their own configuration (the file `trust.yaml` in
~/.config/learncomm/, or the variables LEARNCOMM_TRUSTED_ENDPOINTS and LEARNCOMM_TRUSTED_KEY_ENVS).
OPENAI_API_KEY to OpenAI's own endpoint needs no say; the local model server gets no key at all.

`redact` removes anything that looks like a key from text that is recorded (an intervention's `reason`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from learncomm.sim.schema.loading import ScenarioError

DEFAULT_KEY_ENV = "OPENAI_API_KEY"
DEFAULT_ENDPOINT = "https://api.openai.com/v1"
FILE_ENV = "LEARNCOMM_TRUST_FILE"
ENDPOINTS_ENV = "LEARNCOMM_TRUSTED_ENDPOINTS"
KEY_ENVS_ENV = "LEARNCOMM_TRUSTED_KEY_ENVS"
_SENT: set[str] = set()  # the keys this process sent
NO_KEY = "not-needed"  # what an endpoint that needs no key is sent (the client library insists on one)


class TrustError(ScenarioError):
    """A scenario file asked to send a key where the user did not say it may go."""


class MissingKeyError(ScenarioError):
    """The openai decider would call OpenAI's endpoint, but its key variable is not set."""


def normal_url(url: str) -> str:
    """An endpoint compared as scheme://host:port/path, without a trailing slash, scheme and host lower-cased."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def _words(text: str | None) -> list[str]:
    return [w for w in re.split(r"[\s,]+", text or "") if w]


def trust_file() -> Path:
    if os.environ.get(FILE_ENV):
        return Path(os.environ[FILE_ENV]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "learncomm" / "trust.yaml"


def _read_file(path: Path) -> tuple[list[str], list[str]]:
    """(endpoints, key variables) of a trust file; a missing file allows nothing more."""
    if not path.is_file():
        return [], []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: cannot read the trust file: {exc}") from None
    if not isinstance(data, dict) or set(data) - {"endpoints", "api_key_envs"}:
        raise ScenarioError(
            f"{path}: a trust file is a mapping with `endpoints:` (a list of URLs) and `api_key_envs:` "
            f"(a list of environment variable names), got {str(data)[:200]}"
        )
    lists = []
    for name in ("endpoints", "api_key_envs"):
        value = data.get(name) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ScenarioError(f"{path}: {name}: expected a list of strings, got {str(value)[:200]}")
        lists.append(value)
    return lists[0], lists[1]


@dataclass(frozen=True)
class Trust:
    """What the user allowed: key variables and endpoints (normalised), and the key variable they chose."""

    endpoints: frozenset[str] = frozenset()
    key_envs: frozenset[str] = frozenset()
    api_key_env: str | None = None  # --api-key-env: use (and allow) this variable instead of the scenario's
    sources: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_user(
        cls, allow_endpoints: Iterable[str] = (), api_key_env: str | None = None, base_url: str | None = None
    ) -> Trust:
        """The command line's say (`--allow-endpoint`, `--api-key-env`, `--base-url`) with the user's trust file
        and environment variables."""
        path = trust_file()
        file_endpoints, file_keys = _read_file(path)
        endpoints = [*allow_endpoints, *file_endpoints, *_words(os.environ.get(ENDPOINTS_ENV))]
        if base_url:
            endpoints.append(base_url)
        if os.environ.get("OPENAI_BASE_URL"):  # the user's own environment names the endpoint
            endpoints.append(os.environ["OPENAI_BASE_URL"])
        keys = [*file_keys, *_words(os.environ.get(KEY_ENVS_ENV))]
        if api_key_env:
            keys.append(api_key_env)
        return cls(
            endpoints=frozenset(normal_url(e) for e in endpoints),
            key_envs=frozenset(keys),
            api_key_env=api_key_env,
            sources=(str(path),),
        )

    def key_env(self, scenario_env: str) -> str:
        return self.api_key_env or scenario_env

    def key_for(self, api_key_env: str, endpoint: str | None, where: str = "the scenario") -> str | None:
        """The key to send to `endpoint` (None: OpenAI's), or None when the variable is not set.

        Raises TrustError when the variable is set but the user did not allow it, or did not allow the endpoint."""
        var = self.key_env(api_key_env)
        value = os.environ.get(var)
        if not value:
            return None
        url = normal_url(endpoint) if endpoint else normal_url(os.environ.get("OPENAI_BASE_URL") or DEFAULT_ENDPOINT)
        var_ok = var == DEFAULT_KEY_ENV or var in self.key_envs
        url_ok = url == normal_url(DEFAULT_ENDPOINT) or url in self.endpoints
        if var_ok and url_ok:
            _SENT.add(value)  # redacted from recorded errors whatever the variable's name
            return value
        missing = []
        if not var_ok:
            missing.append(f"the key variable {var} (llm.api_key_env): --api-key-env {var}")
        if not url_ok:
            missing.append(f"the endpoint {endpoint} (llm.base_url): --allow-endpoint {endpoint}")
        raise TrustError(
            f"{where} asks to send the API key in {var} to {endpoint or url}; a scenario file alone may not send a "
            f"key. To allow it, give your say on the command line ({' and '.join(missing)}), or list them in "
            f"{trust_file()} (endpoints: [URL], api_key_envs: [NAME]) or in the environment variables "
            f"{ENDPOINTS_ENV} / {KEY_ENVS_ENV}. OPENAI_API_KEY to {DEFAULT_ENDPOINT} needs no say (docs/roles.md)"
        )

    def key_to_send(self, api_key_env: str, endpoint: str | None, where: str = "the scenario") -> str:
        """What the openai decider sends: the allowed key, or NO_KEY to an endpoint when the variable is not set.

        Raises TrustError (the key may not go there) or MissingKeyError (no endpoint and no key): both before any
        run starts, when a command checks its deciders up front (roles/setup.py, check_deciders)."""
        allowed = self.key_for(api_key_env, endpoint, where)
        if allowed is None and not endpoint:
            var = self.key_env(api_key_env)
            raise MissingKeyError(
                f"{where} decides with the openai decider: set the API key in the environment variable {var} "
                "(llm.api_key_env), or use --api-key-env NAME"
            )
        return allowed or NO_KEY


# Anything that looks like a key: OpenAI-style sk-... and other vendors' prefixes, bearer/basic credentials, the value
# after `api_key=`/`token:`/`x-api-key:`, long hex runs, and long base64 runs that mix upper and lower case and digits
# (so long words, paths and model names survive).
_B64 = r"[A-Za-z0-9+_-]"
_PATTERNS = (
    re.compile(r"\b(?:sk|pk|rk|xox[abpr]|ghp|gho|ghs|github_pat|AKIA|AIza)[-_A-Za-z0-9]{8,}"),
    re.compile(r"(?i)\b(bearer|basic)(\s+)[^\s\"',;]{4,}"),
    re.compile(r"(?i)\b(api[-_]?key|access[-_]?token|token|secret|password|x-api-key)(\s*[:=]\s*[\"']?)[^\s\"',;]{4,}"),
    re.compile(r"\b[0-9a-fA-F]{32,}\b"),
    re.compile(rf"(?<!{_B64})(?={_B64}*\d)(?={_B64}*[a-z])(?={_B64}*[A-Z]){_B64}{{24,}}={{0,2}}"),
)
REDACTED = "[redacted]"


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with every given secret and anything that looks like a key replaced by [redacted]."""
    for s in secrets:
        if s and len(s) >= 4 and s != NO_KEY:
            text = text.replace(s, REDACTED)
    text = _PATTERNS[0].sub(REDACTED, text)
    for pattern in _PATTERNS[1:3]:
        text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _PATTERNS[3].sub(REDACTED, text)
    return _PATTERNS[4].sub(REDACTED, text)


def known_secrets() -> list[str]:
    """The keys sent, and the values of the key variables in this environment (the default, the allowed ones,
    *_API_KEY, *_TOKEN, *_SECRET)."""
    names = {DEFAULT_KEY_ENV, *_words(os.environ.get(KEY_ENVS_ENV))}
    names |= {n for n in os.environ if n.endswith(("_API_KEY", "_TOKEN", "_SECRET", "_SECRET_ACCESS_KEY"))}
    return [*_SENT, *(os.environ[n] for n in names if os.environ.get(n))]
