"""The built wheel owns only its own files: nothing under `litellm/`, the provider inside `litellm_commandcode/`. A venv
with just that wheel (and this environment's LiteLLM, read through a path entry, so pip writes nothing into it)
completes a request against the fake Command Code server, the provider loaded from the plug-in's package."""

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path
from typing import Final

import pytest

from litellm_commandcode.fake_server import FakeCommandCodeServer, expected_answer
from litellm_commandcode.registration import litellm_knows_commandcode
from tests.support.fake_stack import generate_body

REPOSITORY: Final = Path(__file__).resolve().parents[2]
PROVIDER_SOURCE: Final = REPOSITORY / "litellm" / "llms" / "commandcode"
BUILD_TIMEOUT: Final = 300
RUN_TIMEOUT: Final = 180
CREDENTIAL_ENV: Final = ("COMMANDCODE_API_KEY", "COMMAND_CODE_API_KEY", "COMMANDCODE_API_BASE", "PYTHONPATH")
SCRIPT: Final = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path

    import litellm
    import litellm_commandcode

    registered = litellm_commandcode.register()
    import litellm.llms.commandcode.chat.transformation as upstream_name
    import litellm_commandcode.provider.chat.transformation as plugin_name

    response = litellm.completion(
        model="commandcode/deepseek/deepseek-v4-flash",
        messages=[{"role": "user", "content": "hello from the wheel"}],
        api_key="user_wheel_test",
        api_base=sys.argv[1],
    )
    print(json.dumps({
        "registered": registered,
        "content": response.choices[0].message.content,
        "plugin_file": str(Path(litellm_commandcode.__file__).resolve()),
        "provider_file": str(Path(upstream_name.__file__).resolve()),
        "one_module": upstream_name is plugin_name,
        "litellm_has_commandcode_dir": (Path(litellm.__file__).parent / "llms" / "commandcode").exists(),
    }))
    """
)

pytestmark = pytest.mark.skipif(
    litellm_knows_commandcode(), reason="LiteLLM ships commandcode: the plug-in steps aside"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out: Final = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--disable-pip-version-check"]
        + ["-w", str(out), str(REPOSITORY)],
        check=True,
        timeout=BUILD_TIMEOUT,
    )
    built: Final = sorted(out.glob("litellm_commandcode-*.whl"))
    assert len(built) == 1
    return built[0]


def test_the_wheel_has_no_file_under_litellm_and_carries_the_provider_in_its_own_package(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names: Final = archive.namelist()
    provider: Final = sorted(
        f"litellm_commandcode/provider/{source.relative_to(PROVIDER_SOURCE).as_posix()}"
        for source in PROVIDER_SOURCE.rglob("*.py")
        if "__pycache__" not in source.parts
    )
    assert [name for name in names if name.startswith("litellm/")] == []
    assert {name.split("/", 1)[0] for name in names} == {"litellm_commandcode", "litellm_commandcode-0.1.0.dist-info"}
    assert sorted(name for name in names if name.startswith("litellm_commandcode/provider/")) == provider


def test_a_venv_with_the_wheel_completes_a_request_with_the_provider_from_the_plugin_package(
    wheel: Path, server: FakeCommandCodeServer, tmp_path: Path
) -> None:
    venv: Final = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=RUN_TIMEOUT)
    python: Final = venv / "bin" / "python"
    site: Final = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
        ).stdout.strip()
    )
    (site / "base_environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "--quiet"]
        + [str(wheel)],
        check=True,
        timeout=RUN_TIMEOUT,
    )
    env: Final = {key: value for key, value in os.environ.items() if key not in CREDENTIAL_ENV}
    done: Final = subprocess.run(
        [str(python), "-c", SCRIPT, server.url],
        cwd=tmp_path,
        env={**env, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result: Final = json.loads(done.stdout.strip().splitlines()[-1])
    body: Final = generate_body(server.requests[-1])
    installed: Final = site / "litellm_commandcode"
    assert result == {
        "registered": True,
        "content": expected_answer(body)["text"],
        "plugin_file": str((installed / "__init__.py").resolve()),
        "provider_file": str((installed / "provider" / "chat" / "transformation.py").resolve()),
        "one_module": True,
        "litellm_has_commandcode_dir": False,
    }
    assert len(server.requests) == 1
