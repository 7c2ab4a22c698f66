namespace Pipeline.Models.Loading.Hub;

/// <summary>
/// huggingface_hub's snapshot_download for what a model needs: a cached revision is used with no request at all;
/// otherwise the hub lists the revision's files, the needed ones (<see cref="FileSelection"/>) the cache lacks are
/// fetched in parallel (resuming partial files, checking checksums) and the snapshot is recorded.
/// </summary>
public sealed class SnapshotDownloader : IDisposable
{
    readonly HubOptions _options;
    readonly HttpClient _http;
    readonly IModelHub _hub;

    public SnapshotDownloader(HubOptions options, HttpMessageHandler? handler = null)
    {
        _options = options;
        _http = new HttpClient(handler ?? new SocketsHttpHandler { AllowAutoRedirect = false, AutomaticDecompression = System.Net.DecompressionMethods.None }, disposeHandler: true)
        {
            Timeout = options.Timeout,
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("pipeline/1.0 (+huggingface_hub-compatible)");
        _hub = options.UseModelScope ? new ModelScopeHub(_http, options) : new HfHub(_http, options);
    }

    /// <summary>Retries of a file whose connection was cut, each resuming where the last stopped.</summary>
    public int MaxRetries { get; init; } = 3;

    public string HubName => _hub.Name;

    public string DefaultRevision => _hub.DefaultRevision;

    /// <summary>The cached folder of a revision that holds config.json and its weights, or null; makes no request.</summary>
    public string? Cached(string repoId, string? revision) => _hub.Layout(repoId).Cached(revision ?? _hub.DefaultRevision, requireWeights: true);

    /// <summary>
    /// The local folder of <paramref name="repoId"/> at <paramref name="revision"/>, downloading what is missing.
    /// <paramref name="refresh"/> asks the hub even when the cache holds the revision (`pipeline download`).
    /// </summary>
    public string Download(string repoId, string? revision = null, DownloadProgress? progress = null, bool refresh = false, CancellationToken ct = default) =>
        DownloadAsync(repoId, revision, progress, refresh, ct).GetAwaiter().GetResult();

    public async Task<string> DownloadAsync(string repoId, string? revision = null, DownloadProgress? progress = null, bool refresh = false, CancellationToken ct = default)
    {
        progress ??= new DownloadProgress();
        var rev = revision ?? _hub.DefaultRevision;
        var layout = _hub.Layout(repoId);
        if (!refresh && layout.Cached(rev, requireWeights: true) is string hit) return hit;
        if (_options.Offline)
        {
            // Offline: whatever the cache holds for the revision, complete or not, is all there is.
            if (layout.Cached(rev, requireWeights: false) is string some) return some;
            throw new HubException(
                $"model '{repoId}' (revision '{rev}') is not in the cache at {_options.CacheDir}, and offline mode (HF_HUB_OFFLINE) is on, so nothing was downloaded: " +
                $"unset HF_HUB_OFFLINE, or run `pipeline download {repoId}` where {_hub.Name} can be reached (with the same cache or --download-dir).");
        }
        RemoteSnapshot listed;
        try { listed = await _hub.ListAsync(repoId, rev, ct); }
        catch (HttpRequestException e) when (e.StatusCode == null)
        {
            throw new HubException($"could not reach {_hub.Name} at {_options.Endpoint} to download model '{repoId}': {e.Message}. " +
                "Check the network (or HF_ENDPOINT for a mirror), or set HF_HUB_OFFLINE=1 to use only the cache. Looked in:\n  " + layout.Location, e);
        }
        catch (TaskCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new HubException($"{_hub.Name} at {_options.Endpoint} did not answer within {_options.Timeout.TotalSeconds:0} s while listing model '{repoId}'.", e);
        }
        var snapshot = listed with { Files = FileSelection.Select(listed.Files) };
        if (snapshot.Files.Count == 0)
            throw new HubException($"model '{repoId}' at revision '{rev}' on {_hub.Name} has no files a model needs (config.json, tokenizer files, *.safetensors).");
        var missing = snapshot.Files.Where(f => !layout.Has(snapshot, f)).ToList();
        progress.Begin(missing.Sum(f => f.Size ?? 0), missing.Count);
        var fetcher = new FileFetcher(_http, _options.Token, MaxRetries, (r, _) => _hub.Error(r, repoId, rev));
        // Files with the same content (one blob) are fetched once.
        var groups = missing.GroupBy(f => layout.PartialPath(snapshot, f)).ToList();
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _options.MaxWorkers), CancellationToken = ct };
        await Parallel.ForEachAsync(groups, parallel, async (group, token) =>
        {
            var first = group.First();
            await fetcher.FetchAsync(_hub.FileUri(snapshot, first), group.Key, first, progress.Add, token);
            layout.Complete(snapshot, first, group.Key);
            foreach (var same in group.Skip(1)) layout.Complete(snapshot, same, null);
            foreach (var _ in group) progress.FileDone();
        });
        foreach (var file in snapshot.Files.Except(missing)) layout.Complete(snapshot, file, null);
        layout.Finish(snapshot);
        return layout.SnapshotDir(snapshot);
    }

    public void Dispose() => _http.Dispose();
}
