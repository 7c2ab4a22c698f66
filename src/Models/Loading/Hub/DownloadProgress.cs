namespace Pipeline.Models.Loading.Hub;

/// <summary>How far a snapshot download is, read by a progress view from another thread.</summary>
public sealed class DownloadProgress
{
    long _done, _total, _filesDone;
    int _files;

    public long BytesDone => Interlocked.Read(ref _done);
    /// <summary>Bytes of the files to fetch (those the cache does not hold yet); 0 before the listing arrives.</summary>
    public long BytesTotal => Interlocked.Read(ref _total);
    public int FilesTotal => Volatile.Read(ref _files);
    public long FilesDone => Interlocked.Read(ref _filesDone);

    internal void Begin(long totalBytes, int files)
    {
        Interlocked.Exchange(ref _total, totalBytes);
        Volatile.Write(ref _files, files);
    }

    internal void Add(long bytes) => Interlocked.Add(ref _done, bytes);

    internal void FileDone() => Interlocked.Increment(ref _filesDone);
}
