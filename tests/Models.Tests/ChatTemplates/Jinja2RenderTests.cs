using System.Text.Json.Nodes;
using Pipeline.Models.ChatTemplates;

namespace Pipeline.Models.Tests.ChatTemplates;

/// <summary>
/// Widely used chat-template shapes rendered by Python's jinja2 in transformers' configuration
/// (scripts/fixtures/make_jinja_fixtures.py); every render must match byte for byte and every failure fail.
/// </summary>
public class Jinja2RenderTests
{
    private static readonly Lazy<JsonNode> Fixture = new(() => JsonNode.Parse(File.ReadAllText(
        Path.Combine(AppContext.BaseDirectory, "fixtures", "chat_templates", "jinja2_renders.json")))!);

    public static IEnumerable<object[]> Cases() =>
        Fixture.Value["cases"]!.AsArray().Select((c, i) => new object[] { $"{c!["name"]}#{i}" });

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesJinja2(string caseName)
    {
        int index = int.Parse(caseName[(caseName.LastIndexOf('#') + 1)..]);
        var c = Fixture.Value["cases"]!.AsArray()[index]!;
        var source = Fixture.Value["templates"]![c["template"]!.GetValue<string>()]!.GetValue<string>();
        var vars = c["vars"]!.AsObject().ToDictionary(kv => kv.Key, kv => (object?)kv.Value);
        var template = new JinjaTemplate(source) { Clock = () => new DateTime(2024, 7, 26) };

        if (c["rendered"] is JsonNode rendered)
            Assert.Equal(rendered.GetValue<string>(), template.Render(vars));
        else if (c["raised"] is JsonNode raised)
            Assert.Equal(raised.GetValue<string>(), Assert.Throws<TemplateException>(() => template.Render(vars)).Reason);
        else
            Assert.Throws<TemplateException>(() => template.Render(vars));
    }
}
