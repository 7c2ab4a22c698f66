namespace Pipeline.Models.Loading;

/// <summary>
/// Turns a model argument into a local directory: an existing path, or a Hugging Face model id found in the
/// hub cache (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub) as models--ORG--NAME/snapshots/REV.
/// </summary>
public static class ModelResolver
{
    static readonly System.Collections.Concurrent.ConcurrentDictionary<(string, string?), string> Fetched = new();

    /// <summary>Records where a download put <paramref name="model"/> (a --download-dir, ModelScope's cache), so every later Resolve finds it.</summary>
    public static void Register(string model, string? revision, string dir) => Fetched[(model, revision)] = dir;

    public static string Resolve(string model, string? revision = null)
    {
        if (string.IsNullOrWhiteSpace(model)) throw new ModelNotFoundException("No model was given.", []);
        if (Fetched.TryGetValue((model, revision), out var fetched)) return fetched;
        var looked = new List<string>();
        var full = Path.GetFullPath(model);
        looked.Add(full);
        if (Directory.Exists(full))
        {
            if (revision != null && revision != "main")
                throw new ModelNotFoundException($"--revision {revision} applies to hub model ids, but '{model}' is a local directory.", looked);
            return full;
        }
        if (File.Exists(full)) throw new ModelNotFoundException($"'{model}' is a file; a model is a directory holding config.json.", looked);
        if (!LooksLikeRepoId(model))
            throw new ModelNotFoundException($"Model '{model}' was not found.", looked);
        foreach (var cache in HubCacheDirs())
        {
            var repoDir = Path.Combine(cache, "models--" + model.Replace("/", "--"));
            var snapshots = Path.Combine(repoDir, "snapshots");
            var rev = revision ?? "main";
            var refFile = Path.Combine(repoDir, "refs", rev);
            string? commit = File.Exists(refFile) ? File.ReadAllText(refFile).Trim() : null;
            var candidate = Path.Combine(snapshots, commit ?? rev);
            looked.Add(candidate + (commit != null ? $" (refs/{rev})" : ""));
            if (Directory.Exists(candidate)) return candidate;
            // A cache holding a single snapshot without refs (copied caches): use it when no revision was asked.
            if (revision == null && Directory.Exists(snapshots))
            {
                var all = Directory.GetDirectories(snapshots);
                if (all.Length == 1) return all[0];
            }
        }
        throw new ModelNotFoundException(
            $"Model '{model}'{(revision != null ? $" at revision '{revision}'" : "")} was not found locally or in the Hugging Face cache.",
            looked);
    }

    /// <summary>A hub id (ORG/NAME or NAME), not a path.</summary>
    public static bool LooksLikeRepoId(string s) =>
        !s.StartsWith('/') && !s.StartsWith('.') && s.Count(c => c == '/') <= 1 && !s.Contains('\\');

    public static IEnumerable<string> HubCacheDirs()
    {
        var dirs = new List<string>();
        var hubCache = Environment.GetEnvironmentVariable("HF_HUB_CACHE") ?? Environment.GetEnvironmentVariable("HUGGINGFACE_HUB_CACHE");
        if (!string.IsNullOrEmpty(hubCache)) dirs.Add(hubCache);
        var home = Environment.GetEnvironmentVariable("HF_HOME");
        if (!string.IsNullOrEmpty(home)) dirs.Add(Path.Combine(home, "hub"));
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var userCache = !string.IsNullOrEmpty(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        if (string.IsNullOrEmpty(home)) dirs.Add(Path.Combine(userCache, "huggingface", "hub"));
        return dirs.Distinct();
    }
}

/// <summary>A model could not be found; <see cref="Looked"/> lists every place that was tried.</summary>
public sealed class ModelNotFoundException(string message, IReadOnlyList<string> looked)
    : Exception(looked.Count == 0 ? message : message + " Looked in:\n  " + string.Join("\n  ", looked))
{
    public IReadOnlyList<string> Looked { get; } = looked;
}
