/**
 * An insert after its schema check: columns in schema order with their
 * element types proven, and the UTF-8 size of each row's strings.
 * @internal
 */
export type SourceColumn =
  | { readonly kind: "number"; readonly values: ArrayLike<number> }
  | { readonly kind: "bool"; readonly values: ArrayLike<boolean> }
  | { readonly kind: "string"; readonly values: ArrayLike<string> };

export interface RowSource {
  readonly count: number;
  readonly timestamps: ArrayLike<number>;
  readonly columns: readonly SourceColumn[];
  /**
   * Per row, the UTF-8 bytes of its string fields; undefined when every
   * string of the insert is empty (or the schema has none): zero per row.
   */
  readonly rowStringBytes: Uint32Array | undefined;
}
