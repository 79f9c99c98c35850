// The runtime-spec describes resources in cgroup v1's terms; cgroup2 has
// other scales. These are the conversions runc (opencontainers/cgroups)
// and crun agree on, so a container gets the same share under any of them.

/**
 * cpu.shares [2, 262144] to cpu.weight [1, 10000]: 10^((l² + 125·l) / 612
 * − 7/34) with l = log2(shares), rounded up: a quadratic in log space that
 * maps 2 → 1, 1024 (both defaults) → 100 and 262144 → 10000. (runc before
 * 1.3 and crun before 1.23 used the linear 1 + (shares − 2)·9999/262142,
 * which gave the default 1024 the weight 39.) 0 stays 0: unset.
 */
export function cpuSharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  const l = Math.log2(shares);
  return Math.ceil(10 ** ((l * l + 125 * l) / 612 - 7 / 34));
}

/**
 * blkio.weight [10, 1000] to io.weight [1, 10000], linearly: 1 + (w − 10)
 * · 9999 / 990 (integer division). io.bfq.weight takes the v1 scale as it
 * is, so this is only for io.weight. 0 stays 0: unset.
 */
export function blkioWeightToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/**
 * The spec's memory.swap is memory + swap (v1's memsw); memory.swap.max
 * is swap alone: swap − limit. -1 is "max"; 0 is unset, except that an
 * unlimited memory with swap unset makes swap unlimited too (as v1 does).
 * Returns the value for memory.swap.max, or undefined to leave it.
 */
export function memorySwapToV2(swap: bigint, limit: bigint): bigint | undefined {
  if (limit === -1n && swap === 0n) return -1n;
  if (swap === -1n) return -1n;
  if (swap === 0n) return undefined;
  if (limit === -1n) return swap;
  if (limit === 0n) throw new Error("a swap limit needs a memory limit");
  if (limit < 0n) throw new Error(`the memory limit ${limit} is not valid`);
  if (swap < limit) throw new Error("memory + swap must be at least the memory limit");
  return swap - limit;
}
