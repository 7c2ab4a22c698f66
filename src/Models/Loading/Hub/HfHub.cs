using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Pipeline.Models.Loading.Hub;

/// <summary>
/// The Hugging Face Hub (or a mirror at HF_ENDPOINT): GET /api/models/ID/revision/REV?blobs=true lists the files at
/// that revision's commit ("sha") with sizes, git blob ids and LFS sha256; GET /ID/resolve/COMMIT/PATH serves each
/// file (LFS files through a redirect to a CDN).
/// </summary>
internal sealed class HfHub(HttpClient http, HubOptions options) : IModelHub
{
    public string Name => "the Hugging Face Hub";
    public string DefaultRevision => "main";

    public ISnapshotLayout Layout(string repoId) => new HfCacheLayout(options.CacheDir, repoId);

    static string EscapePath(string path) => string.Join('/', path.Split('/').Select(Uri.EscapeDataString));

    public async Task<RemoteSnapshot> ListAsync(string repoId, string revision, CancellationToken ct)
    {
        var url = $"{options.Endpoint}/api/models/{EscapePath(repoId)}/revision/{Uri.EscapeDataString(revision)}?blobs=true";
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (options.Token != null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.Token);
        using var response = await http.SendAsync(request, ct);
        if (!response.IsSuccessStatusCode) throw Error(response, repoId, revision);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        var root = doc.RootElement;
        var commit = root.TryGetProperty("sha", out var sha) && sha.GetString() is string c ? c
            : throw new HubException($"{options.Endpoint} answered the file listing of '{repoId}' without a commit (\"sha\"); is HF_ENDPOINT a Hugging Face Hub?");
        var files = new List<RemoteFile>();
        if (root.TryGetProperty("siblings", out var siblings))
            foreach (var s in siblings.EnumerateArray())
            {
                var path = s.GetProperty("rfilename").GetString()!;
                long? size = s.TryGetProperty("size", out var z) && z.ValueKind == JsonValueKind.Number ? z.GetInt64() : null;
                string? blob = s.TryGetProperty("blobId", out var b) ? b.GetString() : null;
                string? lfsSha = null;
                if (s.TryGetProperty("lfs", out var lfs) && lfs.ValueKind == JsonValueKind.Object)
                {
                    lfsSha = lfs.TryGetProperty("sha256", out var h) ? h.GetString() : null;
                    if (lfs.TryGetProperty("size", out var ls) && ls.ValueKind == JsonValueKind.Number) size = ls.GetInt64();
                }
                files.Add(new RemoteFile(path, size, lfsSha, lfsSha == null ? blob : null));
            }
        return new RemoteSnapshot(repoId, revision, commit, files);
    }

    public Uri FileUri(RemoteSnapshot s, RemoteFile f) => new($"{options.Endpoint}/{EscapePath(s.RepoId)}/resolve/{s.Commit}/{EscapePath(f.Path)}");

    public Exception Error(HttpResponseMessage response, string repoId, string revision)
    {
        string code = response.Headers.TryGetValues("X-Error-Code", out var v) ? v.First() : "";
        string message = response.Headers.TryGetValues("X-Error-Message", out var m) ? $" ({m.First()})" : "";
        string where = options.Endpoint;
        return (response.StatusCode, code) switch
        {
            (_, "RevisionNotFound") => new HubException($"revision '{revision}' of model '{repoId}' was not found on {where}{message}: check --revision (a branch, tag or commit of the repository)."),
            (_, "EntryNotFound") => new HubException($"a file of model '{repoId}' at revision '{revision}' was not found on {where}{message}."),
            (_, "GatedRepo") or (HttpStatusCode.Forbidden, _) => new HubException(
                $"model '{repoId}' is gated on {where} (HTTP {(int)response.StatusCode}){message}: accept its conditions on its page, then set HF_TOKEN (or pass --hf-token) with a token of that account."),
            (HttpStatusCode.Unauthorized, _) => new HubException(options.Token == null
                ? $"model '{repoId}' needs authentication on {where} (HTTP 401){message}: it is private or gated, or does not exist. Set HF_TOKEN, pass --hf-token, or log in with `huggingface-cli login` (the token file HF_TOKEN_PATH / HF_HOME/token is read), with a token that can read it; or check the name."
                : $"model '{repoId}' could not be read with the token from {options.TokenSource ?? "HF_TOKEN / --hf-token"} on {where} (HTTP 401){message}: check that it is valid and can read it, or check the name."),
            (HttpStatusCode.NotFound, _) => new HubException(
                $"model '{repoId}' was not found on {where} (HTTP 404){message}: check the name (ORG/NAME as on the Hub), or pass a local model directory."),
            _ => new HubException($"{where} answered HTTP {(int)response.StatusCode} for model '{repoId}' at revision '{revision}'{message}."),
        };
    }
}
