"""Choosing the emulated chip: presets, architecture files and device count."""
import json
import os

from . import _C

_YAML_SUFFIXES = (".yaml", ".yml")


def presets():
    """Names of the built-in architectures."""
    return list(_C.preset_names())


def _json_from_yaml_file(path):
    import yaml
    try:
        with open(path) as f:
            doc = yaml.safe_load(f)
    except OSError as e:
        raise ValueError(f"cannot open architecture file '{path}': {e.strerror}") from None
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: malformed YAML: {e}") from None
    return json.dumps(doc)


def _resolve(arch):
    """(arch spec, inline JSON, origin) for a preset name, a file path or a dict."""
    if isinstance(arch, dict):
        text = json.dumps(arch)
        _C.validate_arch_json(text, "<dict>")
        return None, text, "<dict>"
    if not isinstance(arch, (str, os.PathLike)):
        raise TypeError(f"arch must be a preset name, a path or a dict, not {type(arch).__name__}")
    arch = os.fspath(arch)
    if arch.endswith(_YAML_SUFFIXES):
        text = _json_from_yaml_file(arch)
        _C.validate_arch_json(text, arch)
        return None, text, arch
    _C.arch_json_for(arch)  # raises ValueError naming the problem
    return arch, None, ""


def configure(arch=None, num_devices=None, system=None, cuda=None):
    """Chooses the chip and the number of devices, before the device is first used.

    arch: a preset name (see presets()), a path to a JSON or YAML architecture
    file, or a dict of fields. num_devices: accel:0 to accel:n-1.
    system: a multi-chip system (torch_accel.systems): accel:i is its chip i,
    the chips are its arch (unless arch is given), and copies between devices
    cross its Ethernet links. cuda: True or False switches the GPU executor
    (docs/CUDA.md) on or off, at any time; True raises RuntimeError naming why
    when it cannot run.
    """
    if cuda is not None and arch is None and num_devices is None and system is None:
        return _set_cuda(cuda)
    if system is not None:
        _configure_system(system, arch, num_devices)
        if cuda is not None:
            _set_cuda(cuda)
        return
    if num_devices is not None and (not isinstance(num_devices, int) or isinstance(num_devices, bool)):
        raise TypeError(f"num_devices must be an int, not {type(num_devices).__name__}")
    if num_devices is not None and not 1 <= num_devices <= 64:
        raise ValueError(f"num_devices must be from 1 to 64, got {num_devices}")
    spec = json_text = None
    origin = ""
    if arch is not None:
        spec, json_text, origin = _resolve(arch)
    _C.configure(arch=spec, arch_json=json_text, origin=origin, num_devices=num_devices)
    if num_devices is not None:  # a plain device count: no system, no links
        _C.set_active_system(None)
    if cuda is not None:
        _set_cuda(cuda)


def _set_cuda(on):
    from . import cuda_exec
    cuda_exec.set_enabled(on)


def _configure_system(system, arch, num_devices):
    from . import systems
    text = systems.system_json(system)
    doc = json.loads(text)
    chips = doc["num_chips"]
    if chips > 64:
        raise ValueError(f"system '{doc['name']}' has {chips} chips, but the emulator runs at most "
                         "64 devices; torch_accel.estimate(system=...) estimates larger systems")
    if num_devices is not None and num_devices != chips:
        raise ValueError(f"num_devices={num_devices} disagrees with system '{doc['name']}', "
                         f"which has {chips} chips")
    configure(arch=arch if arch is not None else doc["arch"], num_devices=chips)
    _C.set_active_system(text)


def system_info():
    """The configured system as a dict, or None when devices have no links."""
    text = _C.active_system_json()
    return None if text is None else json.loads(text)


def apply_environment():
    """Reads TORCH_ACCEL_ARCH when it names a YAML file. Runs at import, inside
    `import torch`, so a bad file is reported at first use instead of here."""
    arch = os.environ.get("TORCH_ACCEL_ARCH", "")
    if not arch.endswith(_YAML_SUFFIXES) or _C.is_initialized():
        return
    try:
        text = _json_from_yaml_file(arch)
        _C.configure(arch_json=text, origin=f"TORCH_ACCEL_ARCH={arch}")
    except ValueError as e:
        _C.configure(deferred_error=f"TORCH_ACCEL_ARCH={arch}: {e}")


def arch_info():
    """The architecture in use, as a dict of its fields and their sources."""
    return json.loads(_C.arch_json())
