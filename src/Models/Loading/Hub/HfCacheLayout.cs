using System.Text.RegularExpressions;

namespace Pipeline.Models.Loading.Hub;

/// <summary>
/// The Hugging Face cache layout that transformers and huggingface-cli share:
/// models--ORG--NAME/blobs/ETAG (content, named by the hub's ETag), snapshots/COMMIT/PATH (relative symlinks to the
/// blobs) and refs/REVISION (the commit a branch or tag pointed to). Partial downloads are blobs/ETAG.incomplete.
/// </summary>
internal sealed partial class HfCacheLayout(string cacheDir, string repoId) : ISnapshotLayout
{
    public string RepoDir { get; } = Path.Combine(cacheDir, "models--" + repoId.Replace("/", "--"));
    public string Location => RepoDir;

    [GeneratedRegex("^[0-9a-f]{40}$")]
    internal static partial Regex CommitHash();

    public string SnapshotDir(RemoteSnapshot snapshot) => Path.Combine(RepoDir, "snapshots", snapshot.Commit);

    public string? Cached(string revision, bool requireWeights)
    {
        var refFile = Path.Combine(RepoDir, "refs", revision);
        string? commit = File.Exists(refFile) ? File.ReadAllText(refFile).Trim() : CommitHash().IsMatch(revision) ? revision : null;
        if (commit == null) return null;
        var dir = Path.Combine(RepoDir, "snapshots", commit);
        if (!Directory.Exists(dir)) return null;
        return !requireWeights || SnapshotCompleteness.HasWeights(dir) ? dir : null;
    }

    string BlobPath(RemoteSnapshot s, RemoteFile f) =>
        Path.Combine(RepoDir, "blobs", f.Etag ?? Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(s.Commit + "/" + f.Path))));

    public bool Has(RemoteSnapshot s, RemoteFile f) =>
        File.Exists(BlobPath(s, f)) && (f.Size is not long size || new FileInfo(BlobPath(s, f)).Length == size);

    public string PartialPath(RemoteSnapshot s, RemoteFile f) => BlobPath(s, f) + ".incomplete";

    public void Complete(RemoteSnapshot s, RemoteFile f, string? partialPath)
    {
        var blob = BlobPath(s, f);
        if (partialPath != null) File.Move(partialPath, blob, overwrite: true);
        var link = Path.Combine(SnapshotDir(s), f.Path.Replace('/', Path.DirectorySeparatorChar));
        Directory.CreateDirectory(Path.GetDirectoryName(link)!);
        if (File.Exists(link) || new FileInfo(link).LinkTarget != null) File.Delete(link);
        try { File.CreateSymbolicLink(link, Path.GetRelativePath(Path.GetDirectoryName(link)!, blob)); }
        catch (IOException) { File.Copy(blob, link); }   // file systems without symlinks: a copy, as huggingface_hub does
        catch (UnauthorizedAccessException) { File.Copy(blob, link); }
    }

    public void Finish(RemoteSnapshot s)
    {
        if (s.Revision == s.Commit) return;
        var refFile = Path.Combine(RepoDir, "refs", s.Revision);
        Directory.CreateDirectory(Path.GetDirectoryName(refFile)!);
        File.WriteAllText(refFile, s.Commit);
    }
}
