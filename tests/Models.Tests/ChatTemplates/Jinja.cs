using System.Text.Json.Nodes;
using Pipeline.Models.ChatTemplates;

namespace Pipeline.Models.Tests.ChatTemplates;

/// <summary>Renders a template with the variables the feature tests share.</summary>
internal static class Jinja
{
    public static Dictionary<string, object?> Vars() => new()
    {
        ["d"] = JsonNode.Parse("""{"a": 1, "b": [1, 2]}"""),
        ["s"] = "abc",
        ["msgs"] = JsonNode.Parse("""[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]"""),
    };

    public static string Render(string template) => new JinjaTemplate(template).Render(Vars());
}
