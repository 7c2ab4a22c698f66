using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Pipeline.Models.Loading.Hub;

/// <summary>
/// ModelScope (VLLM_USE_MODELSCOPE=True): GET /api/v1/models/OWNER/NAME/repo/files?Revision=REV&amp;Recursive=True lists the
/// files (Path, Type, Size, Sha256, Revision) inside a {"Code": 200, "Data": {"Files": [...]}} envelope, and
/// GET /api/v1/models/OWNER/NAME/repo?Revision=REV&amp;FilePath=PATH serves each file. The default revision is master.
/// </summary>
internal sealed class ModelScopeHub(HttpClient http, HubOptions options) : IModelHub
{
    public string Name => "ModelScope";
    public string DefaultRevision => "master";

    public ISnapshotLayout Layout(string repoId) => new ModelScopeCacheLayout(options.CacheDir, repoId);

    public async Task<RemoteSnapshot> ListAsync(string repoId, string revision, CancellationToken ct)
    {
        var (owner, name) = ModelScopeCacheLayout.Split(repoId);
        var url = $"{options.Endpoint}/api/v1/models/{Uri.EscapeDataString(owner)}/{Uri.EscapeDataString(name)}/repo/files?Revision={Uri.EscapeDataString(revision)}&Recursive=True";
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (options.Token != null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.Token);
        using var response = await http.SendAsync(request, ct);
        if (!response.IsSuccessStatusCode) throw Error(response, repoId, revision);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        var root = doc.RootElement;
        int code = root.TryGetProperty("Code", out var c) && c.ValueKind == JsonValueKind.Number ? c.GetInt32() : 200;
        if (code != 200 || !root.TryGetProperty("Data", out var data) || !data.TryGetProperty("Files", out var list))
        {
            var msg = root.TryGetProperty("Message", out var m) ? m.GetString() : null;
            throw new HubException($"ModelScope could not list model '{repoId}' at revision '{revision}' on {options.Endpoint} (code {code}{(msg != null ? ": " + msg : "")}): check the name and --revision.");
        }
        var files = new List<RemoteFile>();
        string commit = revision;
        foreach (var f in list.EnumerateArray())
        {
            if (f.TryGetProperty("Type", out var t) && t.GetString() == "tree") continue;
            var path = f.GetProperty("Path").GetString()!;
            long? size = f.TryGetProperty("Size", out var z) && z.ValueKind == JsonValueKind.Number ? z.GetInt64() : null;
            string? sha = f.TryGetProperty("Sha256", out var h) && h.ValueKind == JsonValueKind.String && h.GetString()!.Length == 64 ? h.GetString() : null;
            if (f.TryGetProperty("Revision", out var r) && r.ValueKind == JsonValueKind.String && commit == revision) commit = r.GetString()!;
            files.Add(new RemoteFile(path, size, sha, null));
        }
        return new RemoteSnapshot(repoId, revision, commit, files);
    }

    public Uri FileUri(RemoteSnapshot s, RemoteFile f)
    {
        var (owner, name) = ModelScopeCacheLayout.Split(s.RepoId);
        return new($"{options.Endpoint}/api/v1/models/{Uri.EscapeDataString(owner)}/{Uri.EscapeDataString(name)}/repo?Revision={Uri.EscapeDataString(s.Revision)}&FilePath={Uri.EscapeDataString(f.Path)}");
    }

    public Exception Error(HttpResponseMessage response, string repoId, string revision) => response.StatusCode switch
    {
        HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => new HubException(
            $"model '{repoId}' needs authentication on ModelScope ({options.Endpoint}, HTTP {(int)response.StatusCode}): set MODELSCOPE_API_TOKEN (or pass --hf-token) with a token that can read it, or check the name."),
        HttpStatusCode.NotFound => new HubException(
            $"model '{repoId}' (revision '{revision}') was not found on ModelScope ({options.Endpoint}, HTTP 404): check the name (OWNER/NAME as on ModelScope) and --revision, or unset VLLM_USE_MODELSCOPE to use the Hugging Face Hub."),
        _ => new HubException($"ModelScope ({options.Endpoint}) answered HTTP {(int)response.StatusCode} for model '{repoId}' at revision '{revision}'."),
    };
}
