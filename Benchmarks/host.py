"""What the benchmark scripts say about the host they ran on."""


def cpu_name():
    """The CPU's model name, with its family and model numbers where /proc/cpuinfo gives them: virtual
    machines often name every generation alike ("AMD EPYC" for Zen 4, family 25, and Zen 5, family 26)."""
    fields = {}
    try:
        for line in open("/proc/cpuinfo"):
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("model name", "cpu family", "model") and key not in fields:
                fields[key] = value.strip()
            if not line.strip() and fields:
                break
    except OSError:
        pass
    name = fields.get("model name", "unknown CPU")
    if "cpu family" in fields and "model" in fields:
        name += f", family {fields['cpu family']} model {fields['model']}"
    return name


def cpu_flags():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                return ", ".join(f for f in ("avx2", "fma", "f16c", "avx512f", "avx512_vnni") if f in flags)
    except OSError:
        pass
    return ""
