using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Pipeline.Models.Tests.Loading.Hub;

/// <summary>
/// A real HTTP server on loopback that answers the Hugging Face Hub's and ModelScope's routes with their headers:
/// /api/models/ID/revision/REV (listing with blobId and lfs.sha256), /ID/resolve/COMMIT/PATH (X-Repo-Commit, ETag,
/// X-Linked-Etag, X-Linked-Size, LFS files through a 302 to a CDN host), /api/v1/models/ID/repo/files and
/// /api/v1/models/ID/repo?FilePath= (ModelScope), with Range requests, 401/404 and X-Error-Code. Tests can make it cut
/// a file's connection midway or serve bytes that do not match the checksum, and read every request it got.
/// </summary>
public sealed class FakeHubServer : IDisposable
{
    public sealed record Repo(string Id, bool Private, Dictionary<string, string> Refs, Dictionary<string, Dictionary<string, byte[]>> Commits);
    public sealed record Request(string Method, string Host, string Path, string? Range, string? Authorization);

    const string GoodToken = "hf_good_token";
    readonly HttpListener _listener = new();
    readonly ConcurrentDictionary<string, Repo> _repos = new();
    readonly ConcurrentQueue<Request> _requests = new();
    readonly Task _loop;
    public int Port { get; }
    public string Endpoint => $"http://127.0.0.1:{Port}";
    public string CdnEndpoint => $"http://localhost:{Port}";
    public static string Token => GoodToken;

    /// <summary>Paths whose next download is cut after half of the bytes (one-shot each).</summary>
    public ConcurrentDictionary<string, int> CutOnce { get; } = new();
    /// <summary>Paths served with one byte flipped.</summary>
    public ConcurrentDictionary<string, bool> Corrupt { get; } = new();

    public FakeHubServer()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Prefixes.Add($"http://localhost:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public IReadOnlyList<Request> Requests => _requests.ToArray();

    public void ClearRequests() => _requests.Clear();

    public static string Commit(string seed) => Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(seed)));

    /// <summary>Adds a commit of a repository; <paramref name="refName"/> (a branch or tag) then points to it.</summary>
    public string AddCommit(string repoId, string refName, Dictionary<string, byte[]> files, bool isPrivate = false)
    {
        var repo = _repos.GetOrAdd(repoId, id => new Repo(id, isPrivate, [], []));
        var commit = Commit(repoId + refName + repo.Commits.Count);
        repo.Commits[commit] = files;
        repo.Refs[refName] = commit;
        return commit;
    }

    /// <summary>Files stored with git LFS on the Hub: weights. Others are plain git blobs.</summary>
    public static bool IsLfs(string path) => path.EndsWith(".safetensors") || path.EndsWith(".bin") || path.EndsWith(".pth");

    public static string Sha256(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    public static string GitBlobId(byte[] data) =>
        Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {data.Length}\0"), .. data]));

    async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            _ = Task.Run(() => Handle(ctx));
        }
    }

    void Handle(HttpListenerContext ctx)
    {
        var req = ctx.Request;
        var res = ctx.Response;
        var path = Uri.UnescapeDataString(req.Url!.AbsolutePath);
        _requests.Enqueue(new Request(req.HttpMethod, req.Url.Host, req.Url.PathAndQuery, req.Headers["Range"], req.Headers["Authorization"]));
        try
        {
            if (path.StartsWith("/api/v1/models/")) ModelScope(req, res, path["/api/v1/models/".Length..]);
            else if (path.StartsWith("/api/models/")) Listing(req, res, path["/api/models/".Length..]);
            else if (path.StartsWith("/cdn/")) Cdn(req, res, req.Url.AbsolutePath["/cdn/".Length..]);
            else if (path.Contains("/resolve/")) Resolve(req, res, path.TrimStart('/'));
            else Status(res, 404, "EntryNotFound");
        }
        catch (HttpListenerException) { }
        catch (ObjectDisposedException) { }
        catch (Exception e)
        {
            try { Status(res, 500, message: e.GetType().Name + ": " + e.Message.ReplaceLineEndings(" ")); } catch (Exception) { }
        }
    }

    static void Status(HttpListenerResponse res, int code, string? errorCode = null, string? message = null)
    {
        res.StatusCode = code;
        if (errorCode != null) res.Headers["X-Error-Code"] = errorCode;
        if (message != null) res.Headers["X-Error-Message"] = message;
        var body = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { error = message ?? errorCode ?? "error" }));
        res.ContentType = "application/json";
        res.ContentLength64 = body.Length;
        res.OutputStream.Write(body);
        res.Close();
    }

    static void Json(HttpListenerResponse res, object value)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(value);
        res.ContentType = "application/json";
        res.ContentLength64 = body.Length;
        res.OutputStream.Write(body);
        res.Close();
    }

    /// <summary>Finds the repo and commit for ID + REV, answering 401/404 as the Hub does; null when answered.</summary>
    (Repo, string)? Find(HttpListenerRequest req, HttpListenerResponse res, string repoId, string rev, bool modelScope = false)
    {
        bool authed = req.Headers["Authorization"] == "Bearer " + GoodToken;
        if (!_repos.TryGetValue(repoId, out var repo) || (repo.Private && !authed))
        {
            // The Hub answers 401 for a private repo or a missing one without a token, 404 for a missing one with it.
            if (authed || modelScope && repo == null) Status(res, 404, "RepoNotFound", "Repository not found");
            else Status(res, 401, "RepoNotFound", "Invalid username or password.");
            return null;
        }
        var commit = repo.Refs.TryGetValue(rev, out var c) ? c : repo.Commits.ContainsKey(rev) ? rev : null;
        if (commit == null) { Status(res, 404, "RevisionNotFound", $"Invalid rev id: {rev}"); return null; }
        return (repo, commit);
    }

    void Listing(HttpListenerRequest req, HttpListenerResponse res, string rest)
    {
        int at = rest.IndexOf("/revision/", StringComparison.Ordinal);
        if (at < 0) { Status(res, 404); return; }
        if (Find(req, res, rest[..at], rest[(at + "/revision/".Length)..]) is not ({ } repo, { } commit)) return;
        var siblings = repo.Commits[commit].Select(kv => IsLfs(kv.Key)
            ? (object)new { rfilename = kv.Key, size = kv.Value.Length, blobId = GitBlobId(Encoding.UTF8.GetBytes("lfs pointer " + Sha256(kv.Value))), lfs = new { sha256 = Sha256(kv.Value), size = kv.Value.Length, pointerSize = 134 } }
            : new { rfilename = kv.Key, size = kv.Value.Length, blobId = GitBlobId(kv.Value) });
        Json(res, new { id = repo.Id, sha = commit, @private = repo.Private, siblings });
    }

    void Resolve(HttpListenerRequest req, HttpListenerResponse res, string rest)
    {
        // ORG/NAME/resolve/REV/PATH
        int at = rest.IndexOf("/resolve/", StringComparison.Ordinal);
        var repoId = rest[..at];
        var tail = rest[(at + "/resolve/".Length)..];
        int slash = tail.IndexOf('/');
        if (Find(req, res, repoId, tail[..slash]) is not ({ } repo, { } commit)) return;
        var file = tail[(slash + 1)..];
        if (!repo.Commits[commit].TryGetValue(file, out var data)) { Status(res, 404, "EntryNotFound", $"{file} does not exist"); return; }
        res.Headers["X-Repo-Commit"] = commit;
        if (IsLfs(file))
        {
            res.Headers["X-Linked-Etag"] = $"\"{Sha256(data)}\"";
            res.Headers["X-Linked-Size"] = data.Length.ToString();
            res.Headers["ETag"] = $"\"{GitBlobId(Encoding.UTF8.GetBytes("lfs pointer " + Sha256(data)))}\"";
            res.RedirectLocation = $"{CdnEndpoint}/cdn/{Uri.EscapeDataString(repoId)}/{commit}/{Uri.EscapeDataString(file)}";
            res.StatusCode = 302;
            res.Close();
            return;
        }
        res.Headers["ETag"] = $"\"{GitBlobId(data)}\"";
        Serve(req, res, file, data);
    }

    void Cdn(HttpListenerRequest req, HttpListenerResponse res, string rest)
    {
        var parts = rest.Split('/', 3);
        var repo = _repos[Uri.UnescapeDataString(parts[0])];
        var file = Uri.UnescapeDataString(parts[2]);
        Serve(req, res, file, repo.Commits[parts[1]][file]);
    }

    void ModelScope(HttpListenerRequest req, HttpListenerResponse res, string rest)
    {
        // OWNER/NAME/repo/files?Revision=&Recursive=  or  OWNER/NAME/repo?Revision=&FilePath=
        var q = req.QueryString;
        var rev = q["Revision"] ?? "master";
        if (rest.EndsWith("/repo/files"))
        {
            if (Find(req, res, rest[..^"/repo/files".Length], rev, modelScope: true) is not ({ } repo, { } commit)) return;
            var files = repo.Commits[commit].Select(kv => new { Name = Path.GetFileName(kv.Key), Path = kv.Key, Type = "blob", Size = kv.Value.Length, Sha256 = Sha256(kv.Value), Revision = commit });
            Json(res, new { Code = 200, Data = new { Files = files }, Message = "success", Success = true });
        }
        else if (rest.EndsWith("/repo"))
        {
            if (Find(req, res, rest[..^"/repo".Length], rev, modelScope: true) is not ({ } repo, { } commit)) return;
            var file = q["FilePath"]!;
            if (!repo.Commits[commit].TryGetValue(file, out var data)) { Status(res, 404); return; }
            Serve(req, res, file, data);
        }
        else Status(res, 404);
    }

    void Serve(HttpListenerRequest req, HttpListenerResponse res, string file, byte[] data)
    {
        if (Corrupt.ContainsKey(file)) { data = (byte[])data.Clone(); data[data.Length / 2] ^= 0xFF; }
        long from = 0;
        if (req.Headers["Range"] is string range && range.StartsWith("bytes=") && range.EndsWith('-'))
        {
            from = long.Parse(range["bytes=".Length..^1]);
            if (from >= data.Length) { res.StatusCode = 416; res.Headers["Content-Range"] = $"bytes */{data.Length}"; res.Close(); return; }
            res.StatusCode = 206;
            res.Headers["Content-Range"] = $"bytes {from}-{data.Length - 1}/{data.Length}";
        }
        res.Headers["Accept-Ranges"] = "bytes";
        res.ContentType = "application/octet-stream";
        res.ContentLength64 = data.Length - from;
        if (from == 0 && CutOnce.TryRemove(file, out _))
        {
            // Half the bytes, flushed, then the connection is reset.
            res.OutputStream.Write(data, 0, data.Length / 2);
            res.OutputStream.Flush();
            Thread.Sleep(50);
            res.Abort();
            return;
        }
        res.OutputStream.Write(data, (int)from, (int)(data.Length - from));
        res.Close();
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try { _loop.Wait(TimeSpan.FromSeconds(2)); } catch (AggregateException) { }
    }
}
