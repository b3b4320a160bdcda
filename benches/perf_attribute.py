#!/usr/bin/env python3
"""Where a `perf record -g` profile of reach spends its samples, by source.

    perf record -F 2000 -g -o perf.data BINARY run ...
    perf script -i perf.data -F ip,dso | python3 benches/perf_attribute.py BINARY [FILTER]

Why not `perf report`: on this toolchain's binaries (linked by lld: the text
segment's file offset is 0x1000 below its address) the perf here resolves
every sample 4 KiB away from where it was taken, so it names the wrong
function: in session 9 it put a sixth of the batch in a `CountTotal` that
ran for under 0.1 s, and hid the real cost (the topical half join's
misses). This script takes each callchain address perf prints (an offset
in the file), adds the segment's offset difference, and asks `addr2line
-i` for the inlined frames there, which are right.

Prints, over the samples whose frames contain FILTER (all samples without
one): the innermost frame, the first `reach::` frame (the crate's function
that was running), and the innermost four frames together. Build with
`RUSTFLAGS="-C force-frame-pointers=yes"` (in a separate CARGO_TARGET_DIR)
for whole callchains.
"""

import collections
import re
import subprocess
import sys


def text_shift(binary):
    """Address minus file offset of the executable segment."""
    out = subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        # LOAD offset vaddr paddr filesz memsz flags... align: flags hold E when executable.
        if parts[:1] == ["LOAD"] and "E" in parts[6:-1]:
            return int(parts[2], 16) - int(parts[1], 16)
    return 0


def read_samples(stream, name):
    """Callchains (innermost first) of file offsets in the binary; -1 elsewhere."""
    samples, chain = [], []
    for line in stream:
        fields = line.split()
        if not fields:
            if chain:
                samples.append(chain)
            chain = []
            continue
        chain.append(int(fields[0], 16) if name in fields[-1] else -1)
    if chain:
        samples.append(chain)
    return samples


def frames_of(binary, addresses):
    """address -> inlined frames there, innermost first."""
    query = "\n".join(hex(a) for a in addresses)
    out = subprocess.run(
        ["addr2line", "-f", "-i", "-C", "-a", "-e", binary], input=query, capture_output=True, text=True
    ).stdout.split("\n")
    frames, key, i = {}, None, 0
    while i < len(out):
        line = out[i]
        if line.startswith("0x"):
            key = int(line, 16)
            frames[key] = []
            i += 1
        elif line:
            frames[key].append(line)
            i += 2  # the function, then its file:line
        else:
            i += 1
    return frames


def short(frame):
    for _ in range(4):
        frame = re.sub(r"<[^<>]*>", "", frame)
    return frame[:100]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    binary = sys.argv[1]
    wanted = sys.argv[2] if len(sys.argv) > 2 else None
    shift = text_shift(binary)
    samples = read_samples(sys.stdin, binary.rsplit("/", 1)[-1])
    addresses = sorted({a + shift for s in samples for a in s if a >= 0})
    frames = frames_of(binary, addresses)
    leaf, owner, chains = collections.Counter(), collections.Counter(), collections.Counter()
    matching = 0
    for sample in samples:
        chain = []
        for address in sample:
            chain.extend(frames.get(address + shift, ["?"]) if address >= 0 else ["?"])
        if wanted and not any(wanted in f for f in chain):
            continue
        matching += 1
        leaf[short(chain[0]) if chain else "?"] += 1
        owner[short(next((f for f in chain if f.startswith("reach::")), "?"))] += 1
        chains[" < ".join(short(f)[:60] for f in chain[:4])] += 1
    print(f"samples {len(samples)}, matching {matching}")
    for title, counts in (("innermost frame", leaf), ("first reach:: frame", owner), ("innermost four", chains)):
        print(f"--- {title}")
        for name, n in counts.most_common(25):
            print(f"{n:7d} {100 * n / max(matching, 1):5.1f}% {name}")


main()
