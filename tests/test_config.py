"""Config loading: defaults, precedence, and errors that name the file, the key and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.config import Config, ConfigError, load_config, parse_config


def test_no_config_file_means_defaults(tmp_path: Path) -> None:
    loaded = load_config(None)
    assert loaded.path is None
    assert loaded.config == Config()
    assert loaded.config.fetch.max_body_bytes == 20 * 1024 * 1024
    assert [d.name for d in loaded.config.digests] == ["digest"]


def test_an_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_digest_config_env_var_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[fetch]\nconcurrency = 3\n")
    monkeypatch.setenv("DIGEST_CONFIG", str(cfg))
    assert load_config(None).config.fetch.concurrency == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[fetch]\nconcurency = 3\n", "cfg.toml: fetch.concurency: unknown key"),
        (
            "[fetch]\nconcurrency = 0\n",
            "cfg.toml: fetch.concurrency: Input should be greater than or equal to 1, got 0",
        ),
        ("[fetch]\ntimeout_total = 'soon'\n", "cfg.toml: fetch.timeout_total: Input should be a valid number"),
        ("[[digests]]\nname = 'a'\nschedule = 'sometimes'\n", "cfg.toml: digests[0].schedule: unrecognised schedule"),
        ("[[digests]]\nname = 'a'\ntimezone = 'Mars/Olympus'\n", "cfg.toml: digests[0].timezone: unknown time zone"),
        ("[[digests]]\nname = 'a'\n[[digests]]\nname = 'a'\n", "cfg.toml: digests: digest names must be unique"),
        ("[[digests]]\nschedule = 'daily 07:00'\n", "cfg.toml: digests[0].name: Field required"),
        ("[fetch\n", "cfg.toml: not valid TOML"),
        (
            "[[digests]]\nname = 'a'\nlist_address = 'everyone'\n",
            "cfg.toml: digests[0].list_address: not an e-mail address: 'everyone'",
        ),
    ],
)
def test_errors_name_the_file_and_the_key(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, origin="cfg.toml")
    message = str(info.value)
    assert message.startswith(expected), message
    assert "\n" not in message


def test_unknown_digest_name_lists_the_configured_ones() -> None:
    cfg = parse_config("[[digests]]\nname = 'daily'\n[[digests]]\nname = 'weekly'\n", origin="x")
    with pytest.raises(ConfigError, match="configured: daily, weekly"):
        cfg.digest("monthly")
