using System.Text.Json;

namespace Pipeline.Host.Cli;

/// <summary>A JSON config file of option values: {"max-model-len": 4096, "port": 8000, ...} (names as on the command line).</summary>
public static class ConfigFile
{
    public static Dictionary<string, string> Load(string path)
    {
        if (!File.Exists(path)) throw new CliException($"--config: no such file '{path}'");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new CliException($"--config {path}: expected a JSON object of option names and values");
            var result = new Dictionary<string, string>();
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name.StartsWith('_')) continue; // comments
                var name = p.Name.Replace('_', '-');
                result[name] = p.Value.ValueKind switch
                {
                    JsonValueKind.String => p.Value.GetString()!,
                    JsonValueKind.True => "true",
                    JsonValueKind.False => "false",
                    JsonValueKind.Number => p.Value.GetRawText(),
                    _ => p.Value.GetRawText(),
                };
            }
            return result;
        }
        catch (JsonException e) { throw new CliException($"--config {path}: not valid JSON ({e.Message})"); }
    }
}
