namespace Pipeline.Models.Loading.Hub;

/// <summary>A model hub's API: its file listing, its file route, its cache layout and how its errors read.</summary>
internal interface IModelHub
{
    string Name { get; }
    string DefaultRevision { get; }
    ISnapshotLayout Layout(string repoId);
    Task<RemoteSnapshot> ListAsync(string repoId, string revision, CancellationToken ct);
    Uri FileUri(RemoteSnapshot snapshot, RemoteFile file);
    /// <summary>The exception a failed response becomes: it names the model and says what to do.</summary>
    Exception Error(HttpResponseMessage response, string repoId, string revision);
}
