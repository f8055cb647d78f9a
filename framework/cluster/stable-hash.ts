/**
 * The stable key → partition mapping of the static table: FNV-1a (64 bit)
 * over the key's UTF-8 bytes, then jump consistent hash (Lamping & Veach,
 * 2014) onto `bucketCount` buckets. Pure and portable: every process, any
 * version of Node, maps a key to the same bucket; growing the bucket count
 * from n to n+1 moves only ~1/(n+1) of the keys (all to the new bucket).
 */
import { assert } from "../raft/index.js";

const fnvOffsetBasis = 0xcbf29ce484222325n;
const fnvPrime = 0x100000001b3n;
const jumpMultiplier = 2862933555777941757n;
const utf8 = new TextEncoder();

/** FNV-1a, 64 bit, of the key's UTF-8 bytes. */
export function fnv1a64(key: string): bigint {
  let hash = fnvOffsetBasis;
  for (const byte of utf8.encode(key)) {
    hash = BigInt.asUintN(64, (hash ^ BigInt(byte)) * fnvPrime);
  }
  return hash;
}

/** Jump consistent hash: a bucket in [0, bucketCount). */
export function jumpConsistentHash(hash: bigint, bucketCount: number): number {
  assert(Number.isSafeInteger(bucketCount), `bucketCount = ${bucketCount}, allowed a safe integer`);
  assert(bucketCount >= 1, `bucketCount = ${bucketCount}, allowed ≥ 1`);
  let key = BigInt.asUintN(64, hash);
  let bucket = -1;
  let next = 0;
  while (next < bucketCount) {
    bucket = next;
    key = BigInt.asUintN(64, key * jumpMultiplier + 1n);
    next = Math.floor((bucket + 1) * (2 ** 31 / (Number(key >> 33n) + 1)));
  }
  assert(bucket >= 0, () => `bucket = ${bucket}, allowed [0, ${bucketCount})`);
  assert(bucket < bucketCount, () => `bucket = ${bucket}, allowed [0, ${bucketCount})`);
  return bucket;
}

/** The bucket of a string key among `bucketCount` buckets. */
export function bucketForKey(key: string, bucketCount: number): number {
  return jumpConsistentHash(fnv1a64(key), bucketCount);
}
