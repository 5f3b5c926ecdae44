// A cheap walk over the data pages that hyparquet is about to decode, so that a damaged page ends
// in an ImportError instead of a decode that never ends.
//
// Why: hyparquet 1.33 trusts what a page says about itself:
//  - its RLE/bit-packed hybrid decoder (readRleBitPackedHybrid) writes an RLE run's `count`
//    values with no check against the values left, so a damaged run length (up to 2^31) fills a
//    plain Array for minutes and gigabytes, or ends the process (V8 "invalid size" fatal error);
//  - a DATA_PAGE_V2 header whose repetition_levels_byte_length is missing (a damaged thrift field)
//    sets the reader offset to undefined; every DataView read at NaN then returns byte 0, an RLE
//    run of 0 values never advances, and the loop never ends (the recorded fuzz case). A page
//    header without compressed_page_size does the same to the page loop (readColumn) and the
//    thrift reader; a DELTA_BINARY_PACKED header with block size 0 and 0 miniblocks too;
//  - snappyUncompress reads a long literal's length as an int32: a damaged one is negative,
//    moves the input position a billion bytes back, and the walk forward takes minutes.
// All of this is synchronous, so no timer can stop it. The walk below mirrors hyparquet's reading
// of the same bytes (readColumn, readPage, readDataPage(V2), snappyUncompress, the level and
// dictionary-index runs, the DELTA and ALP headers) and checks every count against the bytes and
// values that are really there: page sizes inside the column chunk, page value counts against
// the row group's rows, snappy streams that make exactly the page's size, every run inside its
// section and no longer than the values left, dictionary indices inside the dictionary.
// It costs about one extra snappy decompression of the pages it checks (~1% of a MEDS import).
// It imports hyparquet's own page header reader, schema helpers and DELTA decoder from
// `hyparquet/src/*.js` (exported paths) and mirrors 1.33's decoder: re-check it when hyparquet
// is upgraded (tests/unit/import-fuzz-omop-meds.test.ts finds the difference quickly).
import { parquetSchema, snappyUncompress, type ColumnMetaData, type FileMetaData, type PageHeader, type SchemaTree } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { deltaBinaryUnpack } from 'hyparquet/src/delta.js';
import { getMaxDefinitionLevel, getMaxRepetitionLevel, getTreePath, isFlatColumn } from 'hyparquet/src/schema.js';
import { ImportError } from './source';

/** What is wrong with one page; turned into an ImportError that says where. */
class Damage extends Error {}

const damage = (what: string): never => {
  throw new Damage(what);
};

/** at most this many decoded bytes of DELTA_BYTE_ARRAY strings per page (each value is its own copy) */
const DELTA_BYTES_LIMIT = 1 << 28;

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
/** a header field that is not a count: missing, negative, or of another thrift type */
const badField = (field: string, v: unknown): never =>
  damage(`page header with ${v === undefined ? `no ${field}` : `${field} ${typeof v === 'bigint' ? `${v} (as a 64-bit field)` : typeof v === 'number' ? v : `${String(v)} (a ${typeof v})`}`} (the page header is damaged)`);
const bitWidth = (max: number) => 32 - Math.clz32(max);

const trees = new WeakMap<FileMetaData, SchemaTree>();

/**
 * Check the pages of `columns` in row group `group` before parquetRead decodes them. Throws an
 * ImportError such as `events.parquet: column code, row group 0, page 2: a run of 1073741823
 * dictionary indices where 18 remain (the page is damaged)`; returns when hyparquet can read them.
 */
export function checkRowGroup(name: string, ab: ArrayBuffer, md: FileMetaData, group: number, columns: string[]): void {
  const g = md.row_groups[group];
  const rows = Number(g.num_rows);
  if (!(rows > 0)) return; // hyparquet reads nothing from an empty row group
  let tree = trees.get(md);
  if (!tree) trees.set(md, (tree = parquetSchema(md)));
  const bytes = new Uint8Array(ab);
  const valueCap = Math.max(1e6, bytes.length * 64);
  for (const chunk of g.columns) {
    const meta = chunk.meta_data;
    if (!meta || !columns.includes(meta.path_in_schema?.[0])) continue;
    const where = `${name}: column ${meta.path_in_schema.join('.')}, row group ${group}`;
    let page = -1;
    try {
      checkChunk(bytes, meta, tree, rows, valueCap, (p) => (page = p));
    } catch (e) {
      const at = `${where}${page >= 0 ? `, page ${page}` : ''}`;
      if (e instanceof Damage) throw new ImportError(`${at}: ${e.message}`);
      throw new ImportError(`${at}: cannot check the page (${e instanceof Error ? e.message : String(e)})`);
    }
  }
}

function checkChunk(bytes: Uint8Array, meta: ColumnMetaData, tree: SchemaTree, rows: number, valueCap: number, at: (page: number) => void): void {
  const codec = meta.codec;
  if (codec !== 'UNCOMPRESSED' && codec !== 'SNAPPY') damage(`${codec ?? 'unknown'} compression is not supported (only SNAPPY and uncompressed)`);
  let schemaPath: SchemaTree[] = [];
  try {
    schemaPath = getTreePath(tree, meta.path_in_schema);
  } catch {
    damage('not in the file schema (the footer is damaged)');
  }
  const col: Column = {
    type: meta.type,
    typeLength: schemaPath[schemaPath.length - 1].element.type_length,
    maxRep: getMaxRepetitionLevel(schemaPath),
    maxDef: getMaxDefinitionLevel(schemaPath),
    snappy: codec === 'SNAPPY',
    dictSize: -1,
  };
  const flat = isFlatColumn(schemaPath);
  // the byte range hyparquet reads (parquetPlanGroup)
  const start = Number(meta.dictionary_page_offset || meta.data_page_offset);
  const size = Number(meta.total_compressed_size);
  if (!isCount(start) || !isCount(size) || start + size > bytes.length) {
    damage(`column chunk at byte ${String(meta.dictionary_page_offset || meta.data_page_offset)}, ${String(meta.total_compressed_size)} bytes long, lies outside the file (${bytes.length} bytes; the footer is damaged)`);
  }
  // values the pages may hold: a flat column has one per row; a list column what the footer says
  const limit = flat ? rows : Number(meta.num_values);
  if (!isCount(limit) || limit > valueCap) damage(`${String(meta.num_values)} values claimed (the footer is damaged)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, size);
  let values = 0;
  let pos = 0;
  // the page loop of hyparquet's readColumn
  for (let p = 0; flat ? values < rows : true; p++) {
    if (pos >= size - 1) break;
    at(p);
    const reader = { view, offset: pos };
    let h: PageHeader | undefined;
    try {
      h = parquetHeader(reader);
    } catch (e) {
      damage(`unreadable page header (${e instanceof Error ? e.message : String(e)})`);
    }
    const header = h!;
    const dataStart = reader.offset;
    const stored = header.compressed_page_size;
    if (!isCount(stored)) badField('compressed_page_size', stored);
    if (dataStart + stored > size) damage(`a page of ${stored} bytes where the column chunk has ${size - dataStart} left (the page header is damaged)`);
    if (!isCount(header.uncompressed_page_size)) badField('uncompressed_page_size', header.uncompressed_page_size);
    const payload = bytes.subarray(start + dataStart, start + dataStart + stored);
    if (header.type === 'DICTIONARY_PAGE') {
      checkDictionaryPage(header, payload, col);
    } else if (header.type === 'DATA_PAGE' || header.type === 'DATA_PAGE_V2') {
      const daph = header.type === 'DATA_PAGE' ? header.data_page_header : header.data_page_header_v2;
      if (!daph) damage(`${header.type} without its header (the page header is damaged)`);
      const n = daph!.num_values;
      if (!isCount(n)) badField('num_values', n);
      if (n > limit - values) damage(`${n} values in the page where the ${flat ? 'row group has' : 'column chunk has'} ${limit - values} left (the page header is damaged)`);
      if (header.type === 'DATA_PAGE') checkDataPage(header, payload, col);
      else checkDataPageV2(header, payload, col);
      values += n;
    } else {
      damage(`page of type ${String(header.type)}, which cannot be read (the page header is damaged)`);
    }
    pos = dataStart + stored;
  }
  at(-1);
  if (flat && values < rows) damage(`its pages hold ${values} values where the row group has ${rows} rows (the file is damaged)`);
}

interface Column {
  type: string;
  typeLength?: number;
  maxRep: number;
  maxDef: number;
  snappy: boolean;
  /** values in the chunk's dictionary page; -1 before one is seen */
  dictSize: number;
}

/** A page's data as hyparquet's decompressPage gives it (checking the sizes first). */
function inflate(payload: Uint8Array, size: number, compressed: boolean): Uint8Array {
  if (!compressed) {
    if (payload.length !== size) damage(`${payload.length} bytes stored where the header says ${size} (the page is damaged)`);
    return payload;
  }
  // snappy expands at most 64/3 times (a 3-byte copy of 64 bytes)
  if (size > payload.length * 22 + 64) damage(`${payload.length} snappy bytes cannot hold the ${size} the header says (the page is damaged)`);
  checkSnappy(payload, size);
  const out = new Uint8Array(size);
  try {
    snappyUncompress(payload, out);
  } catch (e) {
    damage(`snappy data damaged (${e instanceof Error ? e.message : String(e)})`);
  }
  return out;
}

/**
 * Walk a snappy stream the way hyparquet's snappyUncompress parses it, without writing anything,
 * and check that it makes exactly `size` bytes. snappyUncompress takes a literal length from four
 * bytes as an int32: a damaged one comes out negative, moves its input position a billion bytes
 * back and then walks forward byte by byte (minutes); copy offsets are not checked either.
 */
function checkSnappy(input: Uint8Array, size: number): void {
  const n = input.length;
  let pos = 0;
  while (pos < n && input[pos++] >= 128); // the preamble (the length again, as a varint)
  if (size && pos >= n) damage('snappy data without a body (the page is damaged)');
  let out = 0;
  while (pos < n) {
    const c = input[pos++];
    if (pos >= n) damage('snappy data cut off (the page is damaged)');
    let len: number;
    if ((c & 3) === 0) {
      len = (c >>> 2) + 1;
      if (len > 60) {
        if (pos + 3 >= n) damage('snappy data cut off (the page is damaged)');
        const lengthSize = len - 60;
        // the same int32 arithmetic as snappyUncompress
        len = input[pos] + (input[pos + 1] << 8) + (input[pos + 2] << 16) + (input[pos + 3] << 24);
        len = (len & WORD_MASK[lengthSize]) + 1;
        pos += lengthSize;
      }
      if (len <= 0 || pos + len > n) damage(`a snappy literal of ${len} bytes where ${n - pos} are left (the page is damaged)`);
      pos += len;
    } else {
      let offset: number;
      if ((c & 3) === 1) {
        len = ((c >>> 2) & 7) + 4;
        offset = input[pos] + ((c >>> 5) << 8);
        pos += 1;
      } else if ((c & 3) === 2) {
        if (n <= pos + 1) damage('snappy data cut off (the page is damaged)');
        len = (c >>> 2) + 1;
        offset = input[pos] + (input[pos + 1] << 8);
        pos += 2;
      } else {
        if (n <= pos + 3) damage('snappy data cut off (the page is damaged)');
        len = (c >>> 2) + 1;
        offset = input[pos] + (input[pos + 1] << 8) + (input[pos + 2] << 16) + (input[pos + 3] << 24);
        pos += 4;
      }
      if (!(offset > 0) || offset > out) damage(`a snappy copy from ${offset} bytes back at byte ${out} (the page is damaged)`);
    }
    out += len;
    if (out > size) damage(`snappy data of more than the ${size} bytes the header says (the page is damaged)`);
  }
  if (out !== size) damage(`snappy data of ${out} bytes where the header says ${size} (the page is damaged)`);
}

const WORD_MASK = [0, 0xff, 0xffff, 0xffffff, 0xffffffff];

function checkDictionaryPage(header: PageHeader, payload: Uint8Array, col: Column): void {
  const diph = header.dictionary_page_header;
  if (!diph) damage('DICTIONARY_PAGE without its header (the page header is damaged)');
  if (!isCount(diph!.num_values)) badField('num_values', diph!.num_values);
  const data = inflate(payload, header.uncompressed_page_size, col.snappy);
  checkPlain(data, 0, diph!.num_values, col);
  col.dictSize = diph!.num_values;
}

/** DATA_PAGE (v1): levels and values, all inside the (decompressed) page; see readDataPage */
function checkDataPage(header: PageHeader, payload: Uint8Array, col: Column): void {
  const daph = header.data_page_header!;
  const n = daph.num_values;
  const page = inflate(payload, header.uncompressed_page_size, col.snappy);
  let pos = 0;
  const section = (what: string): number => {
    if (pos + 4 > page.length) damage(`${what} levels cut off (the page is damaged)`);
    const len = page[pos] + page[pos + 1] * 2 ** 8 + page[pos + 2] * 2 ** 16 + page[pos + 3] * 2 ** 24;
    pos += 4;
    if (len > page.length - pos) damage(`${what} levels of ${len} bytes where the page has ${page.length - pos} left (the page is damaged)`);
    return len;
  };
  if (col.maxRep) {
    const len = section('repetition');
    scanHybrid(page, pos, pos + len, bitWidth(col.maxRep), n, 'repetition level', -1, -1);
    pos += len;
  }
  let nonNull = n;
  if (col.maxDef) {
    const len = section('definition');
    nonNull = scanHybrid(page, pos, pos + len, bitWidth(col.maxDef), n, 'definition level', col.maxDef, -1);
    pos += len;
  }
  checkValues(page, pos, daph.encoding, nonNull, col, false);
}

/** DATA_PAGE_V2: uncompressed levels, then the (maybe compressed) values; see readDataPageV2 */
function checkDataPageV2(header: PageHeader, payload: Uint8Array, col: Column): void {
  const d = header.data_page_header_v2!;
  const n = d.num_values;
  const repLen = d.repetition_levels_byte_length;
  const defLen = d.definition_levels_byte_length;
  for (const [field, v] of [['num_nulls', d.num_nulls], ['num_rows', d.num_rows], ['repetition_levels_byte_length', repLen], ['definition_levels_byte_length', defLen]] as const) {
    if (!isCount(v)) badField(field, v);
  }
  if (d.num_nulls > n) damage(`${d.num_nulls} nulls among ${n} values (the page header is damaged)`);
  if (repLen + defLen > payload.length) damage(`levels of ${repLen + defLen} bytes in a page of ${payload.length} (the page header is damaged)`);
  if (!col.maxRep && repLen) damage(`${repLen} bytes of repetition levels in a column without any (the page header is damaged)`);
  if (!col.maxDef && defLen) damage(`${defLen} bytes of definition levels in a column without any (the page header is damaged)`);
  if (col.maxRep) scanHybrid(payload, 0, repLen, bitWidth(col.maxRep), n, 'repetition level', -1, -1);
  if (col.maxDef) {
    const nonNull = scanHybrid(payload, repLen, repLen + defLen, bitWidth(col.maxDef), n, 'definition level', col.maxDef, -1);
    if (n - nonNull !== d.num_nulls) damage(`${d.num_nulls} nulls in the page header, ${n - nonNull} in its definition levels (the page is damaged)`);
  } else if (d.num_nulls) damage(`${d.num_nulls} nulls in a column without nulls (the page header is damaged)`);
  const valuesSize = header.uncompressed_page_size - repLen - defLen;
  if (valuesSize < 0) damage(`an uncompressed size of ${header.uncompressed_page_size} bytes, less than its ${repLen + defLen} bytes of levels (the page header is damaged)`);
  const rest = payload.subarray(repLen + defLen);
  // hyparquet decompresses only when the page says so and there is something to decompress
  const page = d.is_compressed !== false && valuesSize ? inflate(rest, valuesSize, col.snappy) : rest;
  checkValues(page, 0, d.encoding, n - d.num_nulls, col, true);
}

/** The values section of a data page, from `pos` to the end of `page`: `n` values. */
function checkValues(page: Uint8Array, pos: number, encoding: string, n: number, col: Column, v2: boolean): void {
  const end = page.length;
  switch (encoding) {
    case 'PLAIN':
      checkPlain(page, pos, n, col);
      return;
    case 'PLAIN_DICTIONARY':
    case 'RLE_DICTIONARY':
    case 'RLE': {
      const dict = encoding !== 'RLE';
      if (dict && col.dictSize < 0) damage('dictionary-encoded values without a dictionary page (the column chunk is damaged)');
      if (v2 && !dict) {
        // readDataPageV2: booleans, with a 4-byte length in front
        scanPrefixed(page, pos, 1, n, -1);
        return;
      }
      if (!v2 && col.type === 'BOOLEAN') {
        scanPrefixed(page, pos, 1, n, dict ? col.dictSize : -1);
        return;
      }
      if (pos >= end) {
        if (n) damage(`${n} values, none stored (the page is damaged)`);
        return;
      }
      const width = page[pos++];
      if (width > 32) damage(`dictionary indices of ${width} bits (the page is damaged)`);
      if (!width && !v2) return; // readDataPage: all zeros, nothing read
      scanHybrid(page, pos, end, width, n, dict ? 'dictionary index' : 'value', -1, dict ? col.dictSize : -1);
      return;
    }
    case 'DELTA_BINARY_PACKED':
      deltaWalk(page, pos, end, n, col.type === 'INT32' ? 32 : 64);
      return;
    case 'DELTA_LENGTH_BYTE_ARRAY': {
      const { values: lengths, end: dataStart } = deltaInts(page, pos, n);
      let total = 0;
      for (let i = 0; i < n; i++) {
        if (lengths[i] < 0) damage(`a string of ${lengths[i]} bytes (the page is damaged)`);
        total += lengths[i];
      }
      if (total > end - dataStart) damage(`strings of ${total} bytes where the page has ${end - dataStart} (the page is damaged)`);
      return;
    }
    case 'DELTA_BYTE_ARRAY': {
      const { values: prefixes, end: suffixStart } = deltaInts(page, pos, n);
      const { values: suffixes, end: dataStart } = deltaInts(page, suffixStart, n);
      let stored = 0;
      let decoded = 0;
      let prev = 0;
      for (let i = 0; i < n; i++) {
        const pre = prefixes[i];
        const suf = suffixes[i];
        if (pre < 0 || suf < 0 || pre > prev) damage(`string ${i + 1}: a prefix of ${pre} bytes (of ${prev}) and ${suf} more (the page is damaged)`);
        prev = pre + suf;
        stored += suf;
        decoded += prev;
      }
      if (stored > end - dataStart) damage(`strings of ${stored} bytes where the page has ${end - dataStart} (the page is damaged)`);
      if (decoded > DELTA_BYTES_LIMIT) damage(`strings that decode to ${decoded} bytes (more than ${DELTA_BYTES_LIMIT} in one page)`);
      return;
    }
    case 'BYTE_STREAM_SPLIT': {
      const w = col.type === 'INT32' || col.type === 'FLOAT' ? 4 : col.type === 'INT64' || col.type === 'DOUBLE' ? 8 : col.type === 'FIXED_LEN_BYTE_ARRAY' ? (col.typeLength ?? 0) : 0;
      if (w && n * w > end - pos) damage(`${n} values of ${w} bytes where the page has ${end - pos} (the page is damaged)`);
      return;
    }
    case 'ALP':
      checkAlp(page, pos, n, col.type === 'DOUBLE' ? 9 : 5);
      return;
    default:
      damage(`values in encoding ${String(encoding)}, which cannot be read (the page header is damaged)`);
  }
}

/**
 * ALP values (FLOAT: 5-byte frame info, DOUBLE: 9): the header and each vector's place and
 * exception count. hyparquet's alpDecode patches every vector's exceptions (up to 65535, read
 * from the page) without comparing them to the vector's values, and the vectors' offsets may all
 * point at the same bytes: a page of a few bytes could ask for billions of patches.
 */
function checkAlp(page: Uint8Array, pos: number, n: number, forInfo: number): void {
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
  if (pos + 7 > page.length) damage('ALP header cut off (the page is damaged)');
  const logVectorSize = page[pos + 2];
  if (page[pos] || page[pos + 1] || logVectorSize < 3 || logVectorSize > 15) damage('a damaged ALP header');
  const vectorSize = 2 ** logVectorSize;
  const elements = view.getInt32(pos + 3, true);
  if (elements !== n) damage(`${elements} ALP values where the page has ${n} (the page is damaged)`);
  const vectors = Math.ceil(n / vectorSize);
  const offsets = pos + 7;
  if (offsets + vectors * 4 > page.length) damage('ALP vector offsets cut off (the page is damaged)');
  for (let v = 0; v < vectors; v++) {
    const at = offsets + view.getUint32(offsets + v * 4, true);
    if (at + 4 + forInfo > page.length) damage(`ALP vector ${v} outside the page (the page is damaged)`);
    const exceptions = view.getUint16(at + 2, true);
    const values = Math.min(vectorSize, n - v * vectorSize);
    if (exceptions > values) damage(`${exceptions} ALP exceptions in a vector of ${values} values (the page is damaged)`);
  }
}

/** PLAIN values: at least the bytes that `n` of them take (readPlain reads no further than that
 *  for fixed sizes; a BYTE_ARRAY value takes 4 bytes and more). */
function checkPlain(page: Uint8Array, pos: number, n: number, col: Column): void {
  const t = col.type;
  const each = t === 'BOOLEAN' ? 1 / 8 : t === 'INT32' || t === 'FLOAT' || t === 'BYTE_ARRAY' ? 4 : t === 'INT64' || t === 'DOUBLE' ? 8 : t === 'INT96' ? 12 : t === 'FIXED_LEN_BYTE_ARRAY' ? (col.typeLength ?? 0) : 0;
  const need = Math.ceil(n * each);
  if (need > page.length - pos) damage(`${n} ${t} values need at least ${need} bytes where the page has ${page.length - pos} (the page is damaged)`);
}

/** A hybrid section with a 4-byte length in front (readRleBitPackedHybrid without a length). */
function scanPrefixed(page: Uint8Array, pos: number, width: number, n: number, below: number): void {
  if (pos + 4 > page.length) damage('values cut off (the page is damaged)');
  const len = page[pos] + page[pos + 1] * 2 ** 8 + page[pos + 2] * 2 ** 16 + page[pos + 3] * 2 ** 24;
  pos += 4;
  if (len > page.length - pos) damage(`values of ${len} bytes where the page has ${page.length - pos} left (the page is damaged)`);
  scanHybrid(page, pos, pos + len, width, n, 'value', -1, below);
}

/**
 * Walk an RLE/bit-packed hybrid section of `n` values of `width` bits in page[pos, end), the way
 * hyparquet's readRleBitPackedHybrid reads it, and check every run: RLE runs no longer than the
 * values left, bit-packed runs inside the section and at most their 7 padding values past the
 * end. Values equal to `match` are counted (the non-null definition levels) and returned; with
 * `below` >= 0 every value must be less than it (dictionary indices).
 */
function scanHybrid(page: Uint8Array, pos: number, end: number, width: number, n: number, what: string, match: number, below: number): number {
  let seen = 0;
  let matched = 0;
  const valueBytes = (width + 7) >> 3;
  const whats = what === 'dictionary index' ? 'dictionary indices' : `${what}s`;
  while (seen < n) {
    if (pos >= end) damage(`${whats} end after ${seen} of ${n} values (the page is damaged)`);
    // a run header: a varint that hyparquet reads as an int32; past 31 bits it would wrap
    let header = 0;
    for (let shift = 0; ; shift += 7) {
      if (pos >= end || shift > 28) damage(`a damaged ${what} run header`);
      const b = page[pos++];
      header += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) break;
    }
    if (header >= 2 ** 31) damage(`a ${what} run header out of range (the page is damaged)`);
    const left = n - seen;
    if (header & 1) {
      const groups = header >>> 1;
      const count = groups * 8;
      if (count > left + 7) damage(`a bit-packed run of ${count} ${whats} where ${left} remain (the page is damaged)`);
      if (!width || !groups) {
        // readBitPacked reads one byte before it looks at the width or the count
        if (!groups) damage(`an empty bit-packed ${what} run (the page is damaged)`);
        if (pos < end) pos++;
        if (match === 0) matched += Math.min(count, left);
        seen += Math.min(count, left);
        continue;
      }
      const size = groups * width;
      if (size > end - pos) damage(`a bit-packed run of ${count} ${whats} needs ${size} bytes where ${end - pos} are left (the page is damaged)`);
      const take = Math.min(count, left);
      if (match >= 0) matched += countPacked(page, pos, take, width, match);
      if (below >= 0) {
        const max = maxPacked(page, pos, take, width);
        if (max >= below) damage(`a ${what} ${max} past the ${below} values of the dictionary (the page is damaged)`);
      }
      pos += size;
      seen += take;
    } else {
      const count = header >>> 1;
      if (count > left) damage(`a run of ${count} ${whats} where ${left} remain (the page is damaged)`);
      if (valueBytes > end - pos) damage(`a ${what} run cut off (the page is damaged)`);
      let value = 0;
      for (let i = 0; i < valueBytes; i++) value += page[pos++] * 2 ** (8 * i);
      if (value === match) matched += count;
      if (below >= 0 && count && value >= below) damage(`a ${what} ${value} past the ${below} values of the dictionary (the page is damaged)`);
      seen += count;
    }
  }
  return match >= 0 ? matched : n;
}

/** values equal to `match` among `n` bit-packed values of `width` bits from byte `pos` (LSB first) */
function countPacked(b: Uint8Array, pos: number, n: number, width: number, match: number): number {
  let c = 0;
  if (width === 1) {
    // definition levels of a plain optional column: count the set bits
    const full = n >> 3;
    for (let i = 0; i < full; i++) c += POPCOUNT[b[pos + i]];
    const rest = n & 7;
    if (rest) c += POPCOUNT[b[pos + full] & ((1 << rest) - 1)];
    return match === 1 ? c : n - c;
  }
  let bit = pos * 8;
  for (let i = 0; i < n; i++, bit += width) if (packedAt(b, bit, width) === match) c++;
  return c;
}

function maxPacked(b: Uint8Array, pos: number, n: number, width: number): number {
  let m = 0;
  let bit = pos * 8;
  if (width <= 24) {
    const mask = (1 << width) - 1;
    for (let i = 0; i < n; i++, bit += width) {
      const p = bit >>> 3;
      const v = ((b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> (bit & 7)) & mask;
      if (v > m) m = v;
    }
    return m;
  }
  for (let i = 0; i < n; i++, bit += width) m = Math.max(m, packedAt(b, bit, width));
  return m;
}

/** the `width`-bit value at bit offset `bit` (bytes past the array read as 0) */
function packedAt(b: Uint8Array, bit: number, width: number): number {
  let p = bit >>> 3;
  let v = 0;
  let got = -(bit & 7);
  while (got < width) {
    const byte = b[p++] ?? 0;
    v += got < 0 ? byte >>> -got : byte * 2 ** got;
    got += 8;
  }
  return v % 2 ** width;
}

const POPCOUNT = new Uint8Array(256).map((_, i) => {
  let c = 0;
  for (let x = i; x; x >>= 1) c += x & 1;
  return c;
});

/**
 * Walk a DELTA_BINARY_PACKED stream of `n` values from `pos` the way hyparquet's
 * deltaBinaryUnpack reads it, and return where it ends. The header must be the spec's (block size
 * a multiple of 128, miniblocks of a multiple of 32 values): hyparquet divides one by the other,
 * and a 0/0 there makes its reader offset NaN, which never ends.
 */
function deltaWalk(page: Uint8Array, pos: number, end: number, n: number, maxWidth: number): number {
  const varint = (): number => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      if (pos >= end || shift > 28) damage('a damaged DELTA header');
      const b = page[pos++];
      v += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) break;
    }
    if (v >= 2 ** 31) damage('a DELTA header out of range (the page is damaged)');
    return v;
  };
  const skipVarint = () => {
    while (pos < end && page[pos] & 0x80) pos++;
    if (pos >= end) damage('DELTA values cut off (the page is damaged)');
    pos++;
  };
  const blockSize = varint();
  const miniblocks = varint();
  varint(); // the total count, which hyparquet does not use
  skipVarint(); // the first value
  if (!blockSize || blockSize % 128 || !miniblocks || blockSize % miniblocks || (blockSize / miniblocks) % 32) {
    damage(`a DELTA block of ${blockSize} values in ${miniblocks} miniblocks (the page is damaged)`);
  }
  const perMiniblock = blockSize / miniblocks;
  let left = n - 1;
  while (left > 0) {
    skipVarint(); // the block's min delta
    if (miniblocks > end - pos) damage('DELTA bit widths cut off (the page is damaged)');
    const widths = pos;
    pos += miniblocks;
    for (let i = 0; i < miniblocks && left > 0; i++) {
      const w = page[widths + i];
      if (w > maxWidth) damage(`DELTA values of ${w} bits (the page is damaged)`);
      pos += (perMiniblock * w) / 8;
      if (pos > end) damage('DELTA values cut off (the page is damaged)');
      left -= perMiniblock;
    }
  }
  return pos;
}

/** A checked DELTA_BINARY_PACKED stream of int32s (string lengths), decoded by hyparquet. */
function deltaInts(page: Uint8Array, pos: number, n: number): { values: Int32Array; end: number } {
  const end = deltaWalk(page, pos, page.length, n, 32);
  const values = new Int32Array(n);
  const reader = { view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset: pos };
  try {
    deltaBinaryUnpack(reader, n, values);
  } catch (e) {
    damage(`DELTA values damaged (${e instanceof Error ? e.message : String(e)})`);
  }
  if (reader.offset !== end) damage('DELTA values damaged');
  return { values, end };
}
