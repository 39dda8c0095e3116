"""Hostile config files: what an attacker or a clumsy user might hand train.py, with a fragment of
the message each must get. Standard library only, so benchmarks/bench_hostile_config.py can
measure them from a process that holds nothing else in memory."""


def _laughs(levels: int = 9, as_key: bool = False) -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    last = f"*l{levels}"
    return "\n".join(lines) + "\nname: x\n" + (f"? {last}\n: 1\n" if as_key else f"seed: {last}\n")


HOSTILE = {
    "billion laughs": (_laughs(), "unknown key 'l0'"),
    "billion laughs as a key": (_laughs(as_key=True), "invalid YAML"),
    "billion laughs in a grid": (_laughs().replace("name: x\nseed: *l9", "name: g-{seed}\ngrid: {seed: *l9}"), "grid.seed: seed = [["),
    "a recursive alias": ("name: x\nseed: &a [*a]\n", "seed = [[[[...]]]] (list): expected an integer"),
    "deep flow nesting": ("name: x\nseed: " + "[" * 15000 + "]" * 15000 + "\n", "nested more than 32 levels deep"),
    "deep block nesting": ("name: x\nseed:\n" + "".join(" " * i + "- \n" for i in range(240)), "seed = "),
    "a 50 MB value": ("name: x\nseed: " + "9" * (50 << 20) + "\n", "the file is over 32 KiB"),
    "300-character name": ("name: " + "a" * 300 + "\n", "at most 128 characters"),
    "a name ending in a newline": ('name: "run\\n"\n', "name = 'run\\n': must match"),
    "a name that climbs out": ("name: ../../etc\n", "name = '../../etc': must match"),
    "binary garbage": (b"\x00\xff\xfe\x89PNG\r\n", "not a text file"),
    "3,000,000 runs": (
        "name: g-{seed}-{training.epochs}-{training.batch_size}\ngrid:\n  seed: ["
        + ",".join(map(str, range(1000)))
        + "]\n  training.epochs: ["
        + ",".join(map(str, range(1, 1001)))
        + "]\n  training.batch_size: [1, 2, 3]\n",
        "the grid makes 3,000,000 runs",
    ),
    "thousands of unknown keys": ("name: x\n" + "".join(f"k{i}: {i}\n" for i in range(2500)), "... and 2480 more problems"),
}
