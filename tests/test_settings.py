import subprocess
import sys

import pytest

from handler.settings import RateLimits, Settings, SettingsError


def test_defaults_need_no_environment():
    settings = Settings.from_env({})
    assert settings.port == 8080
    assert settings.database_url is None
    assert settings.database_pool_max is None
    assert settings.database_pool_size == 10  # serve; 2 on Lambda
    assert settings.rate_limits == RateLimits(free=100, basic=500, pro=2000, teams=5000)
    assert settings.cors_origins == ("http://localhost:3000",)


def test_values_are_parsed_and_typed():
    settings = Settings.from_env(
        {
            "PORT": "9000",
            "MIGRATE_ON_START": "true",
            "CORS_ORIGINS": "https://app.example.com/, http://localhost:3000",
            "RATE_LIMITS": "free=3,pro=10",
            "DATABASE_SSL": "require",
        }
    )
    assert settings.port == 9000
    assert settings.migrate_on_start is True
    assert settings.cors_origins == ("https://app.example.com", "http://localhost:3000")
    assert settings.rate_limits.for_tier("free") == 3
    assert settings.rate_limits.for_tier("pro") == 10
    assert settings.rate_limits.for_tier("basic") == 500
    assert settings.database_ssl == "require"


def test_settings_are_immutable():
    settings = Settings.from_env({})
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"PORT": "eighty"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"DATABASE_POOL_MAX": "0"}, "DATABASE_POOL_MAX"),
        ({"DATABASE_SSL": "maybe"}, "DATABASE_SSL"),
        ({"MIGRATE_ON_START": "perhaps"}, "MIGRATE_ON_START"),
        ({"CORS_ORIGINS": "*"}, "CORS_ORIGINS"),
        ({"CORS_ORIGINS": "example.com"}, "CORS_ORIGINS"),
        ({"RATE_LIMITS": "gold=5"}, "RATE_LIMITS"),
        ({"HF_BASE_URL": "ftp://x"}, "HF_BASE_URL"),
        ({"PINECONE_API_KEY": "k"}, "PINECONE_INDEX_HOST"),
        ({"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"}, "DATABASE_URL"),
        (
            {
                "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
                "DATABASE_URL": "postgresql://db/x",
                "FIREBASE_AUTH_EMULATOR_HOST": "localhost:9099",
            },
            "FIREBASE_AUTH_EMULATOR_HOST",
        ),
    ],
)
def test_bad_values_name_their_variable(env, name):
    with pytest.raises(SettingsError, match=rf"^{name}: "):
        Settings.from_env(env)


def test_cli_stops_with_one_clear_line(repo_root):
    result = subprocess.run(
        [sys.executable, "-m", "handler", "serve"],
        cwd=repo_root,
        env={"PORT": "eighty", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "configuration error: PORT: expected an integer, got 'eighty'"
    ]
