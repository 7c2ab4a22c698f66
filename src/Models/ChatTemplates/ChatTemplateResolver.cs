using System.Text.Json;

namespace Pipeline.Models.ChatTemplates;

/// <summary>Picks the chat template to use: the --chat-template option, else the tokenizer's own.</summary>
public static class ChatTemplateResolver
{
    /// <summary>
    /// <paramref name="option"/> is the --chat-template value: an existing file is read, anything else is the
    /// template text itself. Null falls back to <paramref name="tokenizerDefault"/>.
    /// </summary>
    /// <exception cref="TemplateException">No template at all, or a path-like option names no file.</exception>
    public static string Resolve(string? option, string? tokenizerDefault)
    {
        if (option != null)
        {
            if (File.Exists(option)) return File.ReadAllText(option);
            // A value without any template syntax or newline was most likely meant as a path.
            if (option.IndexOfAny(['{', '}', '\n']) < 0)
                throw new TemplateException($"--chat-template '{option}' is neither an existing file nor a template (it contains no '{{', '}}' or newline).");
            return option;
        }
        if (!string.IsNullOrEmpty(tokenizerDefault)) return tokenizerDefault;
        throw new TemplateException("The model has no chat template (its tokenizer_config.json defines none); pass one with --chat-template FILE|STRING.");
    }

    /// <summary>
    /// The default template from a tokenizer_config.json: "chat_template" as a string, or the entry named
    /// "default" when it is a list of named templates. Null when absent.
    /// </summary>
    public static string? FromTokenizerConfig(JsonElement config)
    {
        if (config.ValueKind != JsonValueKind.Object || !config.TryGetProperty("chat_template", out var t)) return null;
        if (t.ValueKind == JsonValueKind.String) return t.GetString();
        if (t.ValueKind != JsonValueKind.Array) return null;
        string? first = null;
        foreach (var e in t.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("template", out var tmpl) || tmpl.ValueKind != JsonValueKind.String) continue;
            first ??= tmpl.GetString();
            if (e.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String && n.GetString() == "default") return tmpl.GetString();
        }
        return first;
    }

    /// <summary>A special token from tokenizer_config.json: a string, or an AddedToken object's "content".</summary>
    public static string? SpecialToken(JsonElement config, string name)
    {
        if (config.ValueKind != JsonValueKind.Object || !config.TryGetProperty(name, out var t)) return null;
        if (t.ValueKind == JsonValueKind.String) return t.GetString();
        if (t.ValueKind == JsonValueKind.Object && t.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String) return c.GetString();
        return null;
    }
}
