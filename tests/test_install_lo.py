"""`xlopt install-libreoffice` on a profile folder (no LibreOffice needed: check=False)."""
import os

import pytest

from xlopt.cli import install_lo
from xlopt.core.errors import BadInput


def test_install_then_uninstall_leaves_the_users_settings(tmp_path):
    profile = str(tmp_path)
    os.makedirs(tmp_path / "user")
    mine = ('<item oor:path="/org.openoffice.Setup/L10N"><prop oor:name="ooLocale" oor:op="fuse">'
            "<value>de-DE</value></prop></item>")
    (tmp_path / "user" / "registrymodifications.xcu").write_text(install_lo.XCU_HEAD + mine + "\n" + install_lo.XCU_TAIL)
    notes = install_lo.install(profile, paths=["/some/where"], macro_security="medium", check=False)
    script = open(install_lo.script_path(profile), encoding="utf-8").read()
    assert "XLOPT_PATHS = ['/some/where']" in script and "def on_load" in script
    xcu = open(install_lo.xcu_path(profile), encoding="utf-8").read()
    assert mine in xcu and install_lo.on_load_item() in xcu and install_lo.level_item("medium") in xcu
    assert "&amp;location=user" in xcu and any("installed" in n for n in notes)
    install_lo.install(profile, paths=["/some/where"], check=False)  # again: one binding, not two
    assert open(install_lo.xcu_path(profile), encoding="utf-8").read().count(install_lo.EVENT) == 1
    install_lo.uninstall(profile)
    assert not os.path.exists(install_lo.script_path(profile))
    xcu = open(install_lo.xcu_path(profile), encoding="utf-8").read()
    assert mine in xcu and install_lo.EVENT not in xcu
    assert install_lo.uninstall(profile) == [f"nothing of xlopt's was installed in {profile}"]


def test_install_refuses_a_running_libreoffice_and_a_foreign_binding(tmp_path):
    (tmp_path / ".lock").write_text("")
    with pytest.raises(BadInput, match="close every LibreOffice window"):
        install_lo.install(str(tmp_path), paths=[], check=False)
    os.remove(tmp_path / ".lock")
    os.makedirs(tmp_path / "user")
    other = install_lo.on_load_item("vnd.sun.star.script:Standard.Module1.Main?language=Basic&location=application")
    (tmp_path / "user" / "registrymodifications.xcu").write_text(install_lo.XCU_HEAD + other + "\n" + install_lo.XCU_TAIL)
    with pytest.raises(BadInput, match="already runs another macro"):
        install_lo.install(str(tmp_path), paths=[], check=False)


def test_the_command_line_installs_into_a_given_profile(xlopt_cli, tmp_path, monkeypatch):
    monkeypatch.setattr(install_lo, "program_dir", lambda: (_ for _ in ()).throw(install_lo.MissingTool("no soffice")))
    code, out, err = xlopt_cli("install-libreoffice", "--profile", tmp_path)
    assert code != 0 and "no soffice" in err  # LibreOffice missing: says so, writes nothing
    assert not os.path.exists(install_lo.script_path(str(tmp_path)))
    code, out, err = xlopt_cli("install-libreoffice", "--profile", tmp_path, "--uninstall")
    assert code == 0 and "nothing of xlopt's" in out


def test_install_warns_when_macro_security_keeps_the_buttons_from_running(tmp_path):
    profile = str(tmp_path)
    notes = install_lo.install(profile, paths=[], check=False)  # no level set: LibreOffice's default, High
    warnings = [n for n in notes if n.startswith("warning")]
    assert len(warnings) == 1 and "High (its default)" in warnings[0] and "--macro-security medium" in warnings[0]
    assert install_lo.macro_security_level(profile) == "high"
    notes = install_lo.install(profile, paths=[], macro_security="medium", check=False)
    assert not any(n.startswith("warning") for n in notes) and install_lo.macro_security_level(profile) == "medium"
    notes = install_lo.install(profile, paths=[], check=False)  # the level the user chose stays, no warning
    assert not any(n.startswith("warning") for n in notes)
    notes = install_lo.install(profile, paths=[], macro_security="very-high", check=False)
    assert any(n.startswith("warning") and "Very High" in n for n in notes)
