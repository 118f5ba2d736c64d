"""The models and the answer's budget, from the environment: the original's defaults
and variable names (leczy642/DebugFlow backend/src/services/chatService.js)."""

import logging

import pytest

from handler.settings import ORIGINAL_MODEL, Settings, SettingsError


def test_the_defaults_are_the_originals():
    settings = Settings.from_env({})
    assert ORIGINAL_MODEL == "deepseek-ai/DeepSeek-V3.2:fireworks-ai"
    assert settings.hf_model == settings.hf_fast_model == ORIGINAL_MODEL
    assert settings.hf_max_output_tokens == 65536
    assert settings.hf_fallback_model and settings.hf_fallback_model != ORIGINAL_MODEL


def test_the_originals_names_are_read_with_a_warning(caplog):
    caplog.set_level(logging.WARNING)
    settings = Settings.from_env(
        {"HUGGINGFACE_CHAT_MODEL": "org/chat", "HUGGINGFACE_FAST_MODEL": "org/fast"}
    )
    assert (settings.hf_model, settings.hf_fast_model) == ("org/chat", "org/fast")
    warnings = [r.getMessage() for r in caplog.records]
    assert any("HUGGINGFACE_CHAT_MODEL" in w and "HF_MODEL" in w for w in warnings)
    assert any("HUGGINGFACE_FAST_MODEL" in w and "HF_FAST_MODEL" in w for w in warnings)


def test_ours_win_and_the_ignored_old_name_is_named(caplog):
    caplog.set_level(logging.WARNING)
    settings = Settings.from_env({"HUGGINGFACE_CHAT_MODEL": "org/old", "HF_MODEL": "org/new"})
    assert settings.hf_model == "org/new"
    (warning,) = [r.getMessage() for r in caplog.records]
    assert "HUGGINGFACE_CHAT_MODEL is ignored" in warning and "HF_MODEL" in warning


def test_no_old_names_no_warning(caplog):
    caplog.set_level(logging.WARNING)
    Settings.from_env({"HF_MODEL": "org/new"})
    assert caplog.records == []


def test_an_empty_fallback_turns_the_second_attempt_off():
    assert Settings.from_env({"HF_FALLBACK_MODEL": ""}).hf_fallback_model is None


def test_the_prompt_budget_must_leave_room_for_the_answer():
    with pytest.raises(SettingsError, match="CONTEXT_TOKEN_BUDGET"):
        Settings.from_env({"HF_CONTEXT_TOKENS": "6000", "CONTEXT_TOKEN_BUDGET": "6000"})
    with pytest.raises(SettingsError, match="HF_MAX_OUTPUT_TOKENS"):
        Settings.from_env({"HF_MAX_OUTPUT_TOKENS": "0"})
