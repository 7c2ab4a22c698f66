using System.Reflection;

namespace Pipeline.Host.ChatPage;

/// <summary>
/// The chat page at <c>/</c> of a generation server: HTML, CSS and scripts embedded in this assembly (Assets/), so the
/// page needs nothing outside the server. A Content-Security-Policy keeps the page from loading or sending anything
/// elsewhere, and model output rendered as markdown from running scripts.
/// </summary>
public static class ChatPageRoutes
{
    const string Prefix = "chat-page/";
    const string Csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
        + "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    static readonly Dictionary<string, string> ContentTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
        [".md"] = "text/markdown; charset=utf-8",
        [".txt"] = "text/plain; charset=utf-8",
    };

    /// <summary>The embedded files by their path under Assets/ ("index.html", "vendor/markdown-it.min.js").</summary>
    public static IReadOnlyList<string> Files { get; } = typeof(ChatPageRoutes).Assembly.GetManifestResourceNames()
        .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)).Select(n => n[Prefix.Length..]).ToList();

    public static void Map(WebApplication app)
    {
        app.MapGet("/", http => Serve(http, "index.html"));
        app.MapGet("/chat/{**path}", (HttpContext http, string path) => Serve(http, path));
    }

    static async Task Serve(HttpContext http, string path)
    {
        using var stream = Open(path);
        if (stream == null || !ContentTypes.TryGetValue(Path.GetExtension(path), out var type))
        {
            http.Response.StatusCode = 404;
            return;
        }
        http.Response.ContentType = type;
        http.Response.Headers.ContentSecurityPolicy = Csp;
        http.Response.Headers.XContentTypeOptions = "nosniff";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.ContentLength = stream.Length;
        await stream.CopyToAsync(http.Response.Body, http.RequestAborted);
    }

    /// <summary>One embedded file, or null when there is none by that path.</summary>
    public static Stream? Open(string path) =>
        path.Contains("..") ? null : typeof(ChatPageRoutes).Assembly.GetManifestResourceStream(Prefix + path.Replace('\\', '/'));
}
