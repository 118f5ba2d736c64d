"""The README documents every setting with its real default."""

from handler.settings import Settings


def test_every_setting_is_in_the_readme(repo_root):
    readme = (repo_root / "README.md").read_text()
    for env, default, _ in Settings.documented():
        shown = f"`{default}`" if default else "unset"
        assert f"| `{env}` | {shown} |" in readme, env
