import { StorageError, StorageErrorCode } from "./errors.js";

/**
 * Reads a record payload written by ByteWriter. Running off the end or an
 * impossible value is a Corrupt error naming the file and the record's offset.
 * @internal
 */
export class ByteReader {
  private readonly view: DataView;
  position = 0;

  constructor(
    private readonly payload: Uint8Array,
    private readonly file: string,
    private readonly recordOffset: number,
  ) {
    this.view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  }

  get remaining(): number {
    return this.payload.byteLength - this.position;
  }

  u8(): number {
    this.need(1);
    const value = this.view.getUint8(this.position);
    this.position += 1;
    return value;
  }

  u32(): number {
    this.need(4);
    const value = this.view.getUint32(this.position, true);
    this.position += 4;
    return value;
  }

  u64(): number {
    this.need(8);
    const low = this.view.getUint32(this.position, true);
    const high = this.view.getUint32(this.position + 4, true);
    this.position += 8;
    const value = high * 0x1_0000_0000 + low;
    if (!Number.isSafeInteger(value)) this.corrupt(`integer ${value} beyond 2^53`);
    return value;
  }

  /** A view (not a copy) of the next `length` bytes. */
  bytes(length: number): Uint8Array {
    this.need(length);
    const data = this.payload.subarray(this.position, this.position + length);
    this.position += length;
    return data;
  }

  corrupt(what: string): never {
    throw new StorageError(StorageErrorCode.Corrupt, `bad record: ${what}`, {
      file: this.file,
      offset: this.recordOffset,
    });
  }

  private need(count: number): void {
    if (this.position + count > this.payload.byteLength) {
      this.corrupt(
        `needs ${count} bytes at payload offset ${this.position}, ` +
          `payload is ${this.payload.byteLength} bytes`,
      );
    }
  }
}
