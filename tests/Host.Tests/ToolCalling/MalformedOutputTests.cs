using Pipeline.Host.ToolParsers;
using static Pipeline.Host.Tests.ToolCalling.OutputParsing;

namespace Pipeline.Host.Tests.ToolCalling;

/// <summary>
/// Model output that is not a well-formed call (cut off, unknown tool, garbage) never throws and comes back as
/// content, streamed or not; well-formed calls beside it still count.
/// </summary>
public class MalformedOutputTests
{
    static readonly ToolSet Tools = ToolSet.Of("get_weather");

    public static TheoryData<string, string> Cases => new()
    {
        { "hermes", "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Par" },
        { "hermes", "<tool_call>\n{\"name\": \"send_email\", \"arguments\": {}}\n</tool_call>" },
        { "hermes", "<tool_call>\nnot json at all\n</tool_call>" },
        { "hermes", "<tool_call>{\"name\": \"get_weather\", \"arguments\": [1, 2]}</tool_call>" },
        { "hermes", "<tool_ca" },
        { "hermes", "}}]]\"\\<tool_call></tool_call><tool_call>" },
        { "llama3_json", "{\"name\": \"get_weather\", \"parameters\": {\"city\": " },
        { "llama3_json", "{\"name\": \"get_weather\", \"parameters\": {}} and then some words" },
        { "llama3_json", "{\"answer\": 42}" },
        { "llama3_json", "<|python_tag|>" },
        { "mistral", "[TOOL_CALLS] [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}" },
        { "mistral", "[TOOL_CALLS]get_weather" },
        { "mistral", "[TOOL_CALLS]unknown_tool[ARGS]{}" },
        { "mistral", "[TOOL_CALLS] garbage ]]] {{" },
        { "pythonic", "[get_weather(city='Paris'" },
        { "pythonic", "[get_weather('Paris')]" },
        { "pythonic", "[os.system(cmd='rm -rf /')]" },
        { "pythonic", "[1, 2, 3]" },
        { "pythonic", "[get_weather(city=float('inf'))]" },
        { "deepseek_v3", "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"city\": " },
        { "deepseek_v3", "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>nope\n```json\n{}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>" },
        { "deepseek_v3", "<｜tool▁calls▁begin｜>garbage<｜tool▁calls▁end｜>" },
        { "openai", "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\": " },
        { "openai", "<|channel|>commentary to=functions.unknown<|message|>{}" },
        { "openai", "<|channel|>comm" },
        { "openai", "<|message|><|end|><|start|><|channel|>" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ComesBackAsContent(string parser, string text)
    {
        var r = CheckStreaming(() => Parser(null, parser, Tools), text);
        Assert.Empty(r.Calls);
        Assert.False(string.IsNullOrEmpty(r.Content), "the malformed text should come back as content");
    }

    [Fact]
    public void HermesKeepsGoodCallsBesideABadOne()
    {
        var r = CheckStreaming(() => Parser(null, "hermes", Tools),
            "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": ");
        Assert.Equal([("get_weather", "{\"city\": \"Oslo\"}")], r.Calls);
        Assert.Equal("\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": ", r.Content);
    }

    [Fact]
    public void RandomBytesNeverThrow()
    {
        var rng = new Random(17);
        var alphabet = "{}[]()\"'\\:;,=. \nabcxyz0123<>|/TOOL_CALS" + "<tool_call></tool_call>[TOOL_CALLS][ARGS]<|python_tag|><|channel|><|message|><|end|>to=functions.get_weather<｜tool▁calls▁begin｜><｜tool▁sep｜><think></think>";
        foreach (var parser in ToolParserManager.Names)
            for (int n = 0; n < 40; n++)
            {
                var text = new string(Enumerable.Range(0, rng.Next(1, 60)).Select(_ => alphabet[rng.Next(alphabet.Length)]).ToArray());
                foreach (var reasoning in new string?[] { null, "qwen3", "openai_gptoss" })
                {
                    var make = () => Parser(reasoning, parser, Tools);
                    Whole(make, text);
                    Streamed(make, text.Select(c => c.ToString()).ToList());
                }
            }
    }

    [Fact]
    public void RequiredAndNamedChoicesReadTheirJson()
    {
        var tools = ToolSet.Of("get_weather", "get_time");
        var req = new RequiredToolChoiceParser();
        var r = req.Parse("[{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}, {\"name\": \"get_time\", \"parameters\": {}}]", true, tools);
        Assert.Equal(["get_weather", "get_time"], r.Calls.Select(c => c.Name));
        Assert.Equal("{\"city\": \"Paris\"}", r.Calls[0].Arguments);
        Assert.Equal("[{\"name\": \"nope\", \"parameters\": {}}]", req.Parse("[{\"name\": \"nope\", \"parameters\": {}}]", true, tools).Content);
        var named = new NamedToolChoiceParser("get_time");
        Assert.Equal([new ParsedToolCall("get_time", "{\"tz\": \"CET\"}")], named.Parse(" {\"tz\": \"CET\"} ", true, tools).Calls);
        Assert.Equal("{\"tz\": ", named.Parse("{\"tz\": ", true, tools).Content);
    }
}

/// <summary>The JSON schema that enforces tool_choice "required" or a named function (vLLM's shape).</summary>
public class ToolChoiceSchemaTests
{
    [Fact]
    public void RequiredAndNamedSchemas()
    {
        var tools = ToolSet.From(System.Text.Json.Nodes.JsonNode.Parse("""
            [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}},
             {"type": "function", "function": {"name": "get_time"}}]
            """)!.AsArray());
        var named = System.Text.Json.Nodes.JsonNode.Parse(ToolChoiceSchema.For(new ToolChoice(ToolChoiceMode.Named, "get_weather"), tools)!)!;
        Assert.Equal("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""", named.ToJsonString());
        var required = System.Text.Json.Nodes.JsonNode.Parse(ToolChoiceSchema.For(new ToolChoice(ToolChoiceMode.Required), tools, parallelToolCalls: false)!)!;
        Assert.Equal("array", required["type"]!.GetValue<string>());
        Assert.Equal(1, required["minItems"]!.GetValue<int>());
        Assert.Equal(1, required["maxItems"]!.GetValue<int>());
        var anyOf = required["items"]!["anyOf"]!.AsArray();
        Assert.Equal(["get_weather", "get_time"], anyOf.Select(a => a!["properties"]!["name"]!["enum"]![0]!.GetValue<string>()));
        Assert.Equal("""{"type":"object","properties":{}}""", anyOf[1]!["properties"]!["parameters"]!.ToJsonString());
        Assert.Null(ToolChoiceSchema.For(new ToolChoice(ToolChoiceMode.Auto), tools));
    }
}
