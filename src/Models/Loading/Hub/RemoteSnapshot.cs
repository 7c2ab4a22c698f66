namespace Pipeline.Models.Loading.Hub;

/// <summary>One file of a repository at a commit, with what the hub says about its content.</summary>
/// <param name="Path">Path inside the repository ('/'-separated).</param>
/// <param name="Size">Bytes, when the hub gives them.</param>
/// <param name="Sha256">The content's sha256 (LFS files on the Hub, every file on ModelScope), checked after download.</param>
/// <param name="GitBlobSha1">The git blob id of a file kept in git (not LFS) on the Hub, checked after download.</param>
public sealed record RemoteFile(string Path, long? Size, string? Sha256, string? GitBlobSha1)
{
    /// <summary>The name of its blob in the Hugging Face cache: the hub's ETag (sha256 for LFS files, else the git blob id).</summary>
    public string? Etag => Sha256 ?? GitBlobSha1;
}

/// <summary>A repository's files at one commit.</summary>
public sealed record RemoteSnapshot(string RepoId, string Revision, string Commit, IReadOnlyList<RemoteFile> Files);
