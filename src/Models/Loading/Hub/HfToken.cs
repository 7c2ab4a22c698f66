namespace Pipeline.Models.Loading.Hub;

/// <summary>
/// The Hugging Face token as huggingface_hub finds it: --hf-token, else HF_TOKEN (or the older
/// HUGGING_FACE_HUB_TOKEN), else the file `huggingface-cli login` / `hf auth login` writes: HF_TOKEN_PATH, else
/// HF_HOME/token, else $XDG_CACHE_HOME/huggingface/token, else ~/.cache/huggingface/token.
/// HF_HUB_DISABLE_IMPLICIT_TOKEN=1 sends only a token given on the command line.
/// </summary>
public static class HfToken
{
    /// <summary>The token and where it came from ("--hf-token", "HF_TOKEN", or the file's path); (null, null) when none.</summary>
    public static (string? Token, string? Source) Resolve(string? explicitToken, Func<string, string?> env)
    {
        if (Clean(explicitToken) is string given) return (given, "--hf-token");
        if (HubOptions.IsTrue(env("HF_HUB_DISABLE_IMPLICIT_TOKEN"))) return (null, null);
        foreach (var name in new[] { "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN" })
            if (Clean(env(name)) is string fromEnv) return (fromEnv, name);
        var path = TokenPath(env);
        try
        {
            if (File.Exists(path) && Clean(File.ReadAllText(path)) is string fromFile) return (fromFile, path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // An unreadable token file is the same as none: public models still download, gated ones get the 401 advice.
        }
        return (null, null);
    }

    /// <summary>Where huggingface_hub keeps the login token.</summary>
    public static string TokenPath(Func<string, string?> env)
    {
        if (Clean(env("HF_TOKEN_PATH")) is string path) return ExpandHome(path);
        return Path.Combine(HfHome(env), "token");
    }

    /// <summary>HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface.</summary>
    public static string HfHome(Func<string, string?> env)
    {
        if (Clean(env("HF_HOME")) is string home) return ExpandHome(home);
        var cache = Clean(env("XDG_CACHE_HOME")) is string xdg ? ExpandHome(xdg) : Path.Combine(UserHome, ".cache");
        return Path.Combine(cache, "huggingface");
    }

    static string UserHome => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    static string ExpandHome(string p) => p == "~" ? UserHome : p.StartsWith("~/", StringComparison.Ordinal) ? Path.Combine(UserHome, p[2..]) : p;

    /// <summary>huggingface_hub strips the token and its line break; an empty one counts as none.</summary>
    static string? Clean(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
