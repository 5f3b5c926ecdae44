// Files from a drag-and-drop: every file under each dropped folder (walked through the File and
// Directory Entries API), with its path relative to the drop, so importers and the model loader
// can see folder structure (e.g. MEDS data/train/*.parquet, or which folder holds config.json).
export async function filesOfDrop(items: DataTransferItemList): Promise<Array<{ file: File; path: string }>> {
  const out: Array<{ file: File; path: string }> = [];
  const walk = async (entry: FileSystemEntry, prefix: string): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej));
      out.push({ file, path: prefix + entry.name });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      // readEntries returns the directory in chunks; an empty chunk ends it
      for (;;) {
        const chunk = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
        if (!chunk.length) break;
        for (const e of chunk) await walk(e, prefix + entry.name + '/');
      }
    }
  };
  // entries must be taken synchronously: the DataTransfer is emptied once the drop handler yields
  const entries = Array.from(items)
    .map((i) => i.webkitGetAsEntry?.())
    .filter((e): e is FileSystemEntry => !!e);
  for (const e of entries) await walk(e, '');
  return out;
}
