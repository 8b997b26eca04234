"""``make setup``'s installer hands pip's configuration to uv, so both take packages from the same places."""

import importlib.util
import sys

from tests.conftest import ROOT

spec = importlib.util.spec_from_file_location("install", ROOT / "scripts" / "install.py")
install = importlib.util.module_from_spec(spec)
spec.loader.exec_module(install)


def test_pip_configuration_files_and_variables_become_uv_flags(tmp_path, monkeypatch):
    config = tmp_path / "pip.conf"
    config.write_text("[global]\nextra-index-url = file:///a/simple file:///b/simple\nconstraint = /c.txt\n"
                      "find-links = /from/file\ncert = /ca.pem\n[install]\nindex-url = https://mirror/simple\n")
    for name in [n for n in install.os.environ if n.startswith("PIP_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PIP_CONFIG_FILE", str(config))
    monkeypatch.setenv("PIP_FIND_LINKS", "/from/env")  # a variable overrides the file, as in pip
    for name in ("UV_INDEX_STRATEGY", "SSL_CERT_FILE", "UV_FIND_LINKS", "UV_INDEX_URL"):
        monkeypatch.delenv(name, raising=False)
    options = install.pip_options()
    assert options["find-links"] == "/from/env" and options["index-url"] == "https://mirror/simple"
    cmd, env = install.uv_command(["torch==2.13.0"], options)
    assert cmd[:6] == [str(install.Path(sys.executable).with_name("uv")), "pip", "install", "--quiet", "--python",
                       sys.executable] and cmd[-1] == "torch==2.13.0"
    flags = list(zip(cmd[6:-1:2], cmd[7:-1:2]))
    assert set(flags) == {("--index-url", "https://mirror/simple"), ("--extra-index-url", "file:///a/simple"),
                          ("--extra-index-url", "file:///b/simple"), ("--constraint", "/c.txt"),
                          ("--find-links", "/from/env")}
    assert env["UV_INDEX_STRATEGY"] == "unsafe-best-match" and env["SSL_CERT_FILE"] == "/ca.pem"
    monkeypatch.setenv("UV_INDEX_URL", "https://mine/simple")  # the user's own uv setting wins
    assert "--index-url" not in install.uv_command([], options)[0]
