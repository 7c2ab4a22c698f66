namespace Pipeline.Models.Loading.Hub;

/// <summary>How one hub's cache keeps a repository's files (the Hugging Face cache, ModelScope's cache).</summary>
internal interface ISnapshotLayout
{
    /// <summary>The repository's folder in the cache (named in errors: where the model was looked for).</summary>
    string Location { get; }

    /// <summary>The folder holding the repository's files at <paramref name="commit"/>.</summary>
    string SnapshotDir(RemoteSnapshot snapshot);

    /// <summary>The cached folder of <paramref name="revision"/> when the cache holds one, else null (no request is made).</summary>
    string? Cached(string revision, bool requireWeights);

    /// <summary>The file's content is already in the cache (from this or another revision).</summary>
    bool Has(RemoteSnapshot snapshot, RemoteFile file);

    /// <summary>Where the file is written while it downloads; what is there is resumed.</summary>
    string PartialPath(RemoteSnapshot snapshot, RemoteFile file);

    /// <summary>Moves a downloaded and checked partial file into the cache and makes it part of the snapshot.</summary>
    void Complete(RemoteSnapshot snapshot, RemoteFile file, string? partialPath);

    /// <summary>Records the revision's commit once every file is there.</summary>
    void Finish(RemoteSnapshot snapshot);
}

/// <summary>When a cached model folder is whole enough to load without asking the hub.</summary>
internal static class SnapshotCompleteness
{
    /// <summary>config.json and its weights: every shard an index names, else some *.safetensors (or *.bin).</summary>
    public static bool HasWeights(string dir)
    {
        if (!File.Exists(Path.Combine(dir, "config.json"))) return false;
        var index = Path.Combine(dir, "model.safetensors.index.json");
        if (File.Exists(index))
        {
            try
            {
                using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(index));
                if (!doc.RootElement.TryGetProperty("weight_map", out var map)) return false;
                return map.EnumerateObject().Select(p => p.Value.GetString()).Distinct()
                    .All(f => f != null && File.Exists(Path.Combine(dir, f)));
            }
            catch (System.Text.Json.JsonException) { return false; }
        }
        return Directory.EnumerateFiles(dir, "*.safetensors").Any() || Directory.EnumerateFiles(dir, "*.bin").Any();
    }
}
