"""What an overlay's tests ask of their VM: tests/vm.yaml, NICs and forwards, the config drive, the chroot.

No VM is booted: the argv builders, the vm.yaml reader, the config drive's
content, QEMU's `info usernet` parser and the chroot's mounts (through a
fake runner).
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from overlay.core import arches, commands, disk
from overlay.core.errors import OverlayError
from overlay.core.runner import Result
from overlay.verify import chroot, vmsetup
from overlay.verify.plugin import Context
from overlay.vm import qemu, seed
from overlay.vm.qmp import host_port, parse_usernet
from tests.fakes import FakeRunner
from tests.support import EXAMPLES

AMPHORA_VM = EXAMPLES / "octavia-amphora/tests/vm.yaml"
USERNET = """Hub -1 (n0):
  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ
  TCP[HOST_FORWARD]  15       127.0.0.1 41003       10.0.2.15  9443     0     0
  TCP[HOST_FORWARD]  14       127.0.0.1 42857       10.0.2.15    22     0     0
  UDP[236 sec]       25       127.0.0.1 51234        10.0.2.2    53     0     0
Hub -1 (n1):
  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ
  TCP[HOST_FORWARD]  16       127.0.0.1 38001      10.0.3.100    80     0     0
"""


def pairs(args: list[str]) -> list[tuple[str, str]]:
    return list(zip(args, args[1:], strict=False))


def test_the_default_vm_has_one_nic_forwarding_ssh() -> None:
    args = qemu.qemu_argv(arches.get("amd64"), "bios", "tcg", qemu.VmFiles(Path("/vm")))
    assert ("-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:0-:22") in pairs(args)
    assert ("-device", "virtio-net-pci,netdev=n0") in pairs(args)
    assert sum(a == "-netdev" for a in args) == 1


def test_nics_get_their_networks_macs_and_forwards() -> None:
    nics = [
        qemu.Nic((qemu.Forward(9443),), mac="52:54:00:12:34:56"),
        qemu.Nic((qemu.Forward(80, "10.0.3.100"),), net="10.0.3.0/24", mac="52:54:00:00:03:01"),
    ]
    args = qemu.qemu_argv(arches.get("amd64"), "bios", "tcg", qemu.VmFiles(Path("/vm")), nics=nics)
    assert (
        "-netdev",
        "user,id=n0,hostfwd=tcp:127.0.0.1:0-:22,hostfwd=tcp:127.0.0.1:0-:9443",
    ) in pairs(args)
    assert ("-device", "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56") in pairs(args)
    assert ("-netdev", "user,id=n1,net=10.0.3.0/24,hostfwd=tcp:127.0.0.1:0-10.0.3.100:80") in pairs(args)
    assert ("-device", "virtio-net-pci,netdev=n1,mac=52:54:00:00:03:01") in pairs(args)


def test_forwarded_ports_are_read_per_nic_from_info_usernet() -> None:
    forwards = parse_usernet(USERNET)
    assert host_port(forwards, "n0", 22) == 42857
    assert host_port(forwards, "n0", 9443) == 41003
    assert host_port(forwards, "n1", 80) == 38001
    assert len(forwards) == 3  # the DNS socket is no forward
    with pytest.raises(OverlayError, match="no forward to guest port 80 on n0"):
        host_port(forwards, "n0", 80)


def test_the_amphoras_vm_yaml() -> None:
    conf = vmsetup.conf_of([AMPHORA_VM.parent])
    assert conf.datasource == "config-drive" and conf.image_root
    assert conf.nics[0] == qemu.Nic((qemu.Forward(9443),), None, vmsetup.FIRST_MAC)
    assert conf.nics[1] == qemu.Nic((qemu.Forward(80, "10.0.3.100"),), "10.0.3.0/24", "52:54:00:00:03:01")


def test_without_vm_yaml_the_vm_is_as_before(tmp_path: Path) -> None:
    conf = vmsetup.conf_of([tmp_path])
    assert conf == vmsetup.VmConf()
    assert conf.datasource == "nocloud" and not conf.image_root and len(conf.nics) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("datasource: configdrive\n", "datasource 'configdrive' is not one of nocloud, config-drive"),
        ("image_root: yes please\n", "image_root must be true or false"),
        ("nic: []\n", "unknown key 'nic'"),
        ("nics: {}\n", "nics must be a list of 1 to 4 NICs"),
        ("nics: []\n", "nics must be a list of 1 to 4 NICs"),
        ("nics: [{}, {}, {}, {}, {}]\n", "nics must be a list of 1 to 4 NICs"),
        ("nics: [{forwards: [22]}]\n", "the first NIC forwards ssh (22) already"),
        ("nics: [{forwards: [80, '80']}]\n", "nics[0] forwards a guest port twice"),
        ("nics: [{forwards: [70000]}]\n", "forward 70000 is not a port or ADDRESS:PORT"),
        ("nics: [{forwards: [{port: 80}]}]\n", "is not a port or ADDRESS:PORT"),
        ("nics: [{}, {net: 10.0.3.0/24, forwards: ['10.0.4.1:80']}]\n", "10.0.4.1 is not an address of"),
        ("nics: [{forwards: ['10.0.3.1:80']}]\n", "not an address of the NIC's network 10.0.2.0/24"),
        ("nics: [{}, {net: 10.0.3.1/24}]\n", "net '10.0.3.1/24' is not an IPv4 network"),
        ("nics: [{}, {mac: '52:54:00:00:03'}]\n", "mac '52:54:00:00:03' is not a MAC address"),
        ("nics: [{}, {mac: '52:54:00:12:34:56'}]\n", "two NICs have the same MAC address"),
        ("nics: [{}, {ports: [80]}]\n", "unknown key 'ports' in nics[1]"),
        ("nics: [3]\n", "nics[0] must be a mapping"),
        ("- datasource\n", "must be a mapping"),
    ],
)
def test_a_wrong_vm_yaml_is_one_line_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "vm.yaml"
    path.write_text(text)
    with pytest.raises(OverlayError) as caught:
        vmsetup.read(path)
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"{path}:1: ") and "\n" not in str(caught.value)


def test_two_overlays_combine_forwards_and_nics_but_not_datasources(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "vm.yaml").write_text("datasource: config-drive\nnics: [{forwards: [9443]}, {net: 10.0.3.0/24}]\n")
    (b / "vm.yaml").write_text("image_root: true\nnics: [{forwards: [9443, 8080]}]\n")
    conf = vmsetup.conf_of([a, b])
    assert conf.datasource == "config-drive" and conf.image_root
    assert [f.port for f in conf.nics[0].forwards] == [9443, 8080] and len(conf.nics) == 2
    (b / "vm.yaml").write_text("datasource: nocloud\n")
    with pytest.raises(OverlayError, match="ask for different datasources"):
        vmsetup.conf_of([a, b])


def test_the_config_drive_is_laid_out_as_nova_does() -> None:
    tree = seed.config_drive(
        instance_id="0f0e",
        hostname="fo-bios-1",
        public_key="ssh-ed25519 AAAA test",
        user_data_text="#cloud-config\nssh_pwauth: false\n",
        injected={"/etc/b.conf": b"b", "/etc/a.conf": b"a"},
        mac="52:54:00:12:34:56",
    )
    meta = json.loads(tree["openstack/latest/meta_data.json"])
    assert meta["uuid"] == "0f0e" and meta["hostname"] == "fo-bios-1"
    assert meta["public_keys"] == {"fai-overlay": "ssh-ed25519 AAAA test"}
    assert meta["files"] == [
        {"path": "/etc/a.conf", "content_path": "/content/0000"},
        {"path": "/etc/b.conf", "content_path": "/content/0001"},
    ]
    assert tree["openstack/content/0000"] == b"a" and tree["openstack/content/0001"] == b"b"
    assert tree["openstack/latest/user_data"].startswith(b"#cloud-config\n")
    network = json.loads(tree["openstack/latest/network_data.json"])
    assert network["links"][0]["ethernet_mac_address"] == "52:54:00:12:34:56"
    assert [n["type"] for n in network["networks"]] == ["ipv4_dhcp"]


def keygen(argv: list[str]) -> Result:
    key = Path(argv[argv.index("-f") + 1])
    key.write_text("private")
    key.with_suffix(".pub").write_text("ssh-ed25519 AAAA fai-overlay@test\n")
    return Result(tuple(argv), 0)


def test_make_seed_writes_a_config_2_iso(tmp_path: Path) -> None:
    runner = FakeRunner(tools={"ssh-keygen": keygen})
    made = seed.make_seed(
        tmp_path,
        runner,
        hostname="fo-bios-1",
        trust_host_cas=False,
        datasource="config-drive",
        injected={"/etc/x": b"x"},
        mac="52:54:00:12:34:56",
    )
    assert made.datasource == "config-drive" and made.iso == tmp_path / "seed.iso"
    assert runner.calls[-1] == tuple(
        commands.config_drive_iso(tmp_path / "seed.iso", tmp_path / "config-drive")
    )
    assert ("-V", "config-2") in pairs(list(runner.calls[-1]))
    meta = json.loads((tmp_path / "config-drive/openstack/latest/meta_data.json").read_text())
    assert meta["uuid"] == made.instance_id
    assert (tmp_path / "config-drive/openstack/content/0000").read_bytes() == b"x"
    assert b"ssh-ed25519 AAAA" in (tmp_path / "config-drive/openstack/latest/user_data").read_bytes()


def test_injected_files_need_a_config_drive(tmp_path: Path) -> None:
    runner = FakeRunner(tools={"ssh-keygen": keygen})
    with pytest.raises(OverlayError, match="injected files need a config drive"):
        seed.make_seed(tmp_path, runner, hostname="h", trust_host_cas=False, injected={"/etc/x": b"x"})


def seed_script(tests: Path, body: str) -> None:
    script = tests / "seed"
    script.write_text("#!/bin/sh\nset -e\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def test_seed_scripts_leave_injected_files_and_a_directory_for_the_tests(tmp_path: Path) -> None:
    from overlay.core.runner import Runner

    tests = tmp_path / "myoverlay/tests"
    tests.mkdir(parents=True)
    seed_script(
        tests, 'mkdir -p "$1/injected/etc"; echo hi > "$1/injected/etc/hello"; echo "runcmd: [[echo]]"\n'
    )
    work = tmp_path / "vm"
    with pytest.raises(OverlayError, match="which only a config drive carries"):
        vmsetup.prepare([tests], work, Runner(), {"runcmd": [["false"]]})
    (tests / "vm.yaml").write_text("datasource: config-drive\n")
    setup = vmsetup.prepare([tests], work, Runner(), {"runcmd": [["false"]]})
    assert setup.injected == {"/etc/hello": b"hi\n"}
    assert setup.cloud_config == {"runcmd": [["false"], ["echo"]]}
    assert setup.seed_dirs == {"myoverlay": str(work / "seed-myoverlay")}


def test_a_seed_that_prints_no_mapping_is_refused(tmp_path: Path) -> None:
    from overlay.core.runner import Runner

    tests = tmp_path / "o/tests"
    tests.mkdir(parents=True)
    seed_script(tests, "echo '- a list'\n")
    with pytest.raises(OverlayError, match="printed list, not a cloud-config mapping"):
        vmsetup.prepare([tests], tmp_path / "vm", Runner())


def test_the_chroot_runs_with_exactly_its_environment() -> None:
    argv = commands.chroot(Path("/r"), ["python3", "/mnt/x.py"], {"PATH": "/usr/bin", "LANG": "C.UTF-8"})
    assert argv == [
        "chroot",
        "/r",
        "/usr/bin/env",
        "-i",
        "LANG=C.UTF-8",
        "PATH=/usr/bin",
        "python3",
        "/mnt/x.py",
    ]
    assert commands.bind_mount(Path("/s"), Path("/r/mnt")) == ["mount", "--bind", "-o", "ro", "/s", "/r/mnt"]


def test_the_chroot_is_unbound_even_when_the_test_fails(tmp_path: Path) -> None:
    root, scratch = tmp_path / "root", tmp_path / "scratch"
    (root / "mnt").mkdir(parents=True)
    scratch.mkdir()
    runner = FakeRunner()
    with pytest.raises(KeyboardInterrupt), chroot.image_chroot(root, scratch, runner) as jail:
        assert jail.inside(scratch / "params.json") == "/mnt/params.json"
        jail.run(["python3", "/mnt/controller.py", "info"])
        raise KeyboardInterrupt
    assert runner.calls[0] == tuple(commands.bind_mount(scratch, root / "mnt"))
    assert runner.calls[1][:5] == ("chroot", str(root), "/usr/bin/env", "-i", "HOME=/root")
    assert runner.calls[-1] == tuple(commands.umount(root / "mnt", lazy=True))


def test_an_image_without_mnt_gets_no_chroot(tmp_path: Path) -> None:
    with (
        pytest.raises(OverlayError, match="has no /mnt directory"),
        chroot.image_chroot(tmp_path, tmp_path, FakeRunner()),
    ):
        pass


def test_what_the_live_tests_leave_mounted_below_the_root_is_unmounted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mounts = [("/dev/loop3", "/tmp/m"), ("/s", "/tmp/m/mnt"), ("proc", "/tmp/m/mnt/proc"), ("/x", "/tmp/mx")]
    monkeypatch.setattr(disk, "_mounts", lambda: mounts)
    runner = FakeRunner()
    assert disk.unmount_below(Path("/tmp/m"), runner) == ["/tmp/m/mnt/proc", "/tmp/m/mnt"]
    assert runner.calls == [("umount", "--lazy", "/tmp/m/mnt/proc"), ("umount", "--lazy", "/tmp/m/mnt")]


def test_live_tests_learn_the_forwarded_ports_and_seed_directories() -> None:
    context = Context(
        mode="live",
        manifest=None,  # type: ignore[arg-type]
        expect={},
        vm={
            "nics": [
                {"net": None, "mac": "52:54:00:12:34:56"},
                {"net": "10.0.3.0/24", "mac": "52:54:00:00:03:01"},
            ],
            "forwards": [
                {"nic": 0, "port": 22, "address": "", "host_port": 42857},
                {"nic": 1, "port": 80, "address": "10.0.3.100", "host_port": 38001},
            ],
            "seed_dirs": {"octavia-amphora": "/tmp/vm/seed-octavia-amphora"},
        },
    )
    assert context.forwarded(22) == 42857 and context.forwarded(80, nic=1) == 38001
    assert context.nics[1]["mac"] == "52:54:00:00:03:01"
    assert context.seed_dir("octavia-amphora") == Path("/tmp/vm/seed-octavia-amphora")
    with pytest.raises(LookupError, match="declare it in the overlay's tests/vm.yaml"):
        context.forwarded(80)
    with pytest.raises(LookupError, match="has no tests/seed"):
        context.seed_dir("hello")


def test_an_image_built_elsewhere_finds_its_overlays_tests_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from overlay.verify import target as targetmod
    from overlay.verify.target import resolve
    from tests.fixtures import publishkit as kit

    warnings: list[str] = []
    monkeypatch.setattr(targetmod.log, "warn", warnings.append)
    doc = kit.manifest_doc()
    doc["layers"][1].update(name="octavia-amphora", path="/builds/ci/examples/octavia-amphora")
    (tmp_path / f"{kit.NAME}.build.json").write_text(json.dumps(doc))
    (tmp_path / f"{kit.NAME}.qcow2").write_bytes(b"")
    image = tmp_path / f"{kit.NAME}.qcow2"
    assert resolve(image).test_dirs() == []
    assert any("/builds/ci/examples/octavia-amphora is not on this host" in w for w in warnings)
    target = resolve(image, [EXAMPLES / "octavia-amphora"])
    assert target.test_dirs() == [EXAMPLES / "octavia-amphora/tests"]
    with pytest.raises(OverlayError, match="was not built with an overlay named 'hello'"):
        resolve(image, [EXAMPLES / "hello"])


def test_checks_run_in_a_process_group_the_runner_stops_on_ctrl_c(tmp_path: Path) -> None:
    from overlay.verify.offline import run_pytest

    report = tmp_path / "report.xml"

    def pytest_run(argv: list[str]) -> Result:
        report.write_text('<testsuite name="live"><testcase name="test_a" time="1"/></testsuite>')
        return Result(tuple(argv), 0, "1 passed\n")

    runner = FakeRunner(tools={"/usr/bin/python3": pytest_run})
    result = run_pytest(
        ["/usr/bin/python3", "-m", "pytest"], runner, tmp_path / "t.log", report, "live checks"
    )
    assert result.ok and (tmp_path / "t.log").read_text() == "1 passed\n"
    assert runner.options[0]["grace"] == 10  # stream(): its own group, stopped on Ctrl-C
    report.unlink()
    runner = FakeRunner(responses={"/usr/bin/python3": Result((), 2, "ERROR: usage\n")})
    with pytest.raises(OverlayError, match="could not run \\(pytest exit 2\\): ERROR: usage"):
        run_pytest(["/usr/bin/python3", "-m", "pytest"], runner, tmp_path / "t.log", report, "live checks")


def test_a_busy_root_is_unmounted_lazily(tmp_path: Path) -> None:
    runner = FakeRunner(responses={f"umount {tmp_path}": Result((), 32, "", "target is busy")})
    disk._unmount(tmp_path, runner)
    assert runner.calls == [("umount", str(tmp_path)), ("umount", "--lazy", str(tmp_path))]
