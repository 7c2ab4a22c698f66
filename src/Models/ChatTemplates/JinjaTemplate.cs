using System.Text;

namespace Pipeline.Models.ChatTemplates;

/// <summary>
/// A parsed Jinja2 template, rendered with the semantics of transformers' chat-template environment
/// (sandboxed, trim_blocks, lstrip_blocks, loop controls). Parse once; Render is thread-safe.
/// </summary>
public sealed class JinjaTemplate
{
    private readonly List<Stmt> _body;

    /// <exception cref="TemplateException">The source has a syntax error.</exception>
    public JinjaTemplate(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        _body = Parser.Parse(source);
    }

    /// <summary>Clock used by strftime_now; local time by default.</summary>
    public Func<DateTime> Clock { get; init; } = () => DateTime.Now;

    /// <summary>
    /// Renders with the given variables. Values may be JsonElement/JsonNode, strings, numbers, bools, null,
    /// dictionaries (string keys) and lists of those.
    /// </summary>
    /// <exception cref="TemplateException">Rendering failed, or the template called raise_exception.</exception>
    public string Render(IReadOnlyDictionary<string, object?> variables) => Render(variables, Clock);

    internal string Render(IReadOnlyDictionary<string, object?> variables, Func<DateTime> clock)
    {
        ArgumentNullException.ThrowIfNull(variables);
        var globals = new Scope(null);
        Globals.Install(globals, clock);
        var top = new Scope(globals);
        foreach (var kv in variables) top.Set(kv.Key, JsonValues.FromClr(kv.Value));
        var sb = new StringBuilder();
        new Interpreter().Run(_body, top, sb);
        return sb.ToString();
    }
}
