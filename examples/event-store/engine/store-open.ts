import { applyOperations } from "./apply-operations.js";
import { createBlockLayout } from "./block-layout.js";
import { decodeBlock } from "./block-decode.js";
import { createBlockCache, enforceBudget } from "./block-cache.js";
import type { Block } from "./block.js";
import { encodeManifest, decodeManifest, type Manifest } from "./manifest-codec.js";
import { corrupt, EventStoreError, EventStoreErrorCode } from "./errors.js";
import { readExactly, type EngineFileSystem } from "./file-system.js";
import {
  BLOCKS_FILE, MANIFEST_FILE, MANIFEST_TEMPORARY_FILE, writeEpochs, type StoreState,
} from "./store-state.js";
import { createBlockHome, restoreStream, type Stream } from "./stream.js";
import { createWal, openWal, walPath } from "./wal-file.js";

export interface StoreLocation {
  readonly fileSystem: EngineFileSystem;
  readonly directory: string;
  readonly blockBytes: number;
  readonly walCheckpointBytes: number;
  readonly walSync: boolean;
  /** EventStoreOptions.cacheBytes. */
  readonly cacheBytes: number;
}

/**
 * Opens the store in `directory`, creating it when there is no manifest:
 * reads the manifest, reads and checks every block it names (keeping its
 * summary for the index; the block cache evicts the rows beyond its budget
 * as it goes), rebuilds each stream's aggregate index, replays the WAL of the
 * manifest's generation and removes leftovers of an interrupted checkpoint.
 * @internal
 */
export async function openStoreState(location: StoreLocation): Promise<StoreState> {
  const { fileSystem, directory } = location;
  await fileSystem.mkdir(directory);
  const names = await fileSystem.readdir(directory);
  if (!names.includes(MANIFEST_FILE)) {
    await writeInitialFiles(location, names);
  }
  const manifestPath = `${directory}/${MANIFEST_FILE}`;
  const manifestFile = await fileSystem.open(manifestPath, "read");
  const manifest = decodeManifest(await readExactly(manifestFile, 0, await manifestFile.size()),
    manifestPath);
  await manifestFile.close();
  const blocksFile = await fileSystem.open(`${directory}/${BLOCKS_FILE}`, "readWrite");
  const cache = createBlockCache(blocksFile, manifest.blockBytes, location.cacheBytes);
  const state: StoreState = {
    fileSystem, directory, blockBytes: manifest.blockBytes,
    walCheckpointBytes: location.walCheckpointBytes, walSync: location.walSync, streams: new Map(),
    appliedIndex: manifest.appliedIndex, annex: manifest.annex, wal: { file: blocksFile, generation: 0, size: 0 }, unloggedBytes: 0,
    background: undefined, backgroundRunning: false,
    blocksFile, cache, slotCount: manifest.slotCount,
    durableSlots: new Set(manifest.streams.flatMap((stream) => stream.slots)),
    epoch: 1, pins: [], exportsAfterApply: undefined, failure: undefined, closed: false,
  };
  for (const entry of manifest.streams) {
    state.streams.set(entry.name, await loadStream(state, entry));
  }
  state.wal = await openWal(fileSystem, directory, manifest.generation, manifest.blockBytes,
    (stream) => state.streams.get(stream)?.layout, (record) => {
      if (record.appliedIndex === state.appliedIndex && record.operations.length === 0 &&
        record.annex !== undefined) {
        state.annex = record.annex; // an annex alone, written at the current index
        return;
      }
      if (record.appliedIndex <= state.appliedIndex) return;
      applyOperations(state.streams, state.blockBytes, record.operations, writeEpochs(state),
        cache);
      // Dirty blocks stay (up to the WAL's size); the clean ones read back are evicted.
      enforceBudget(cache);
      state.appliedIndex = record.appliedIndex;
      if (record.annex !== undefined) state.annex = record.annex;
    }, !location.walSync);
  await removeLeftovers(fileSystem, directory, manifest.generation);
  return state;
}

async function loadStream(state: StoreState, entry: Manifest["streams"][number]): Promise<Stream> {
  const home = createBlockHome(createBlockLayout(entry.schema, state.blockBytes), state.cache);
  const path = `${state.directory}/${BLOCKS_FILE}`;
  const blocks: Block[] = [];
  for (const slot of entry.slots) {
    const offset = slot * state.blockBytes;
    const bytes = await readExactly(state.blocksFile, offset, state.blockBytes);
    const block = decodeBlock(home, bytes, { file: path, offset }, state.epoch);
    block.slot = slot;
    enforceBudget(state.cache);
    const previous = blocks[blocks.length - 1];
    if (previous !== undefined && block.count > 0 &&
      previous.summary.maxTimestamp > block.summary.minTimestamp) {
      throw corrupt(`block in slot ${slot} of stream '${entry.name}' starts before its ` +
        "predecessor ends", path, offset);
    }
    blocks.push(block);
  }
  if (blocks.length === 0) {
    throw corrupt(`stream '${entry.name}' has no block`, `${state.directory}/${MANIFEST_FILE}`, 0);
  }
  return restoreStream(entry.name, entry.schema, home, blocks, entry);
}

async function writeInitialFiles(location: StoreLocation, names: readonly string[]): Promise<void> {
  const { fileSystem, directory } = location;
  // Without a manifest nothing was ever committed: an interrupted first start
  // leaves only empty files. Data without a manifest is not ours to delete.
  for (const name of names) {
    if (!name.startsWith("wal-") && name !== BLOCKS_FILE && name !== MANIFEST_TEMPORARY_FILE) {
      continue;
    }
    const path = `${directory}/${name}`;
    const file = await fileSystem.open(path, "read");
    const size = await file.size();
    await file.close();
    if (size > 0 && name !== MANIFEST_TEMPORARY_FILE) {
      throw new EventStoreError(EventStoreErrorCode.Corrupt,
        `${path} holds ${size} bytes but the manifest is missing`,
        { file: `${directory}/${MANIFEST_FILE}` });
    }
    await fileSystem.unlink(path);
  }
  const blocks = await fileSystem.open(`${directory}/${BLOCKS_FILE}`, "create");
  await blocks.close();
  const wal = await createWal(fileSystem, directory, 1);
  await wal.file.close();
  await writeManifestFile(fileSystem, directory, {
    generation: 1, blockBytes: location.blockBytes, appliedIndex: 0, slotCount: 0, streams: [],
    annex: new Uint8Array(0),
  });
}

/** Writes a manifest durably through manifest.tmp and a rename. */
export async function writeManifestFile(fileSystem: EngineFileSystem, directory: string,
  manifest: Manifest): Promise<void> {
  const temporary = `${directory}/${MANIFEST_TEMPORARY_FILE}`;
  const file = await fileSystem.open(temporary, "create");
  await file.write([encodeManifest(manifest)], 0);
  await file.datasync();
  await file.close();
  await fileSystem.rename(temporary, `${directory}/${MANIFEST_FILE}`);
  await fileSystem.syncDirectory(directory);
}

async function removeLeftovers(fileSystem: EngineFileSystem, directory: string,
  generation: number): Promise<void> {
  const current = walPath(directory, generation);
  for (const name of await fileSystem.readdir(directory)) {
    const path = `${directory}/${name}`;
    if ((name.startsWith("wal-") && path !== current) || name === MANIFEST_TEMPORARY_FILE) {
      await fileSystem.unlink(path);
    }
  }
}
