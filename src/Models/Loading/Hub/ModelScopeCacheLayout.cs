using System.Text.Json;

namespace Pipeline.Models.Loading.Hub;

/// <summary>
/// ModelScope's cache layout: one folder per model, CACHE/models/OWNER/NAME (dots in NAME written as ___), holding
/// the files themselves; partial downloads go under CACHE/._____temp/OWNER/NAME as ModelScope's own do. ModelScope keeps
/// no snapshots per revision, so a marker file (.pipeline_revision.json) records the revision, its commit and each
/// file's sha256, which tells a cache hit without asking the hub.
/// </summary>
internal sealed class ModelScopeCacheLayout : ISnapshotLayout
{
    const string MarkerName = ".pipeline_revision.json";
    readonly string _dir, _temp;

    public ModelScopeCacheLayout(string cacheDir, string repoId)
    {
        var (owner, name) = Split(repoId);
        _dir = Path.Combine(cacheDir, "models", owner, name.Replace(".", "___"));
        _temp = Path.Combine(cacheDir, "._____temp", owner, name);
    }

    public static (string Owner, string Name) Split(string repoId)
    {
        var parts = repoId.Split('/');
        if (parts.Length != 2 || parts.Any(string.IsNullOrWhiteSpace))
            throw new HubException($"'{repoId}' is not a ModelScope model id: ModelScope ids are OWNER/NAME.");
        return (parts[0], parts[1]);
    }

    public string ModelDir => _dir;
    public string Location => _dir;

    public string SnapshotDir(RemoteSnapshot snapshot) => _dir;

    sealed record Marker(string Revision, string Commit, Dictionary<string, string> Files);

    Marker? ReadMarker()
    {
        var path = Path.Combine(_dir, MarkerName);
        try { return File.Exists(path) ? JsonSerializer.Deserialize<Marker>(File.ReadAllText(path)) : null; }
        catch (JsonException) { return null; }
    }

    public string? Cached(string revision, bool requireWeights)
    {
        if (ReadMarker() is not { } m || (m.Revision != revision && m.Commit != revision)) return null;
        return !requireWeights || SnapshotCompleteness.HasWeights(_dir) ? _dir : null;
    }

    public bool Has(RemoteSnapshot s, RemoteFile f)
    {
        var path = Path.Combine(_dir, f.Path);
        if (!File.Exists(path) || (f.Size is long size && new FileInfo(path).Length != size)) return false;
        return f.Sha256 is null || (ReadMarker()?.Files.TryGetValue(f.Path, out var sha) == true && sha.Equals(f.Sha256, StringComparison.OrdinalIgnoreCase));
    }

    public string PartialPath(RemoteSnapshot s, RemoteFile f) => Path.Combine(_temp, f.Path);

    public void Complete(RemoteSnapshot s, RemoteFile f, string? partialPath)
    {
        if (partialPath == null) return;
        var target = Path.Combine(_dir, f.Path);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Move(partialPath, target, overwrite: true);
    }

    public void Finish(RemoteSnapshot s)
    {
        var files = s.Files.Where(f => f.Sha256 != null && File.Exists(Path.Combine(_dir, f.Path))).ToDictionary(f => f.Path, f => f.Sha256!);
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, MarkerName), JsonSerializer.Serialize(new Marker(s.Revision, s.Commit, files)));
    }
}
