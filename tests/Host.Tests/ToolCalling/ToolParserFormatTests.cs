using Pipeline.Host.ToolParsers;
using static Pipeline.Host.Tests.ToolCalling.OutputParsing;

namespace Pipeline.Host.Tests.ToolCalling;

/// <summary>
/// Each --tool-call-parser on output written the way its models write tool calls, quoted from the models' published
/// chat formats (sources beside each string). Every case is also streamed character by character and split at every
/// boundary, and must come out the same.
/// </summary>
public class ToolParserFormatTests
{
    static Result Check(string parser, ToolSet tools, string text) => CheckStreaming(() => Parser(null, parser, tools), text);

    // Qwen2.5 function calling docs (qwen.readthedocs.io, "Function Calling", Hermes-style template): the model's
    // answer to "What's the temperature in San Francisco now? How about tomorrow?".
    const string QwenParallel = "<tool_call>\n{\"name\": \"get_current_temperature\", \"arguments\": {\"location\": \"San Francisco, CA, USA\"}}\n</tool_call>\n" +
        "<tool_call>\n{\"name\": \"get_temperature_date\", \"arguments\": {\"location\": \"San Francisco, CA, USA\", \"date\": \"2024-10-01\"}}\n</tool_call>";

    [Fact]
    public void HermesReadsQwenParallelCalls()
    {
        var r = Check("hermes", ToolSet.Of("get_current_temperature", "get_temperature_date"), QwenParallel);
        Assert.Null(r.Content);
        Assert.Equal([("get_current_temperature", "{\"location\": \"San Francisco, CA, USA\"}"),
            ("get_temperature_date", "{\"location\": \"San Francisco, CA, USA\", \"date\": \"2024-10-01\"}")], r.Calls);
    }

    [Fact]
    public void HermesKeepsTextBeforeTheCallAsContent()
    {
        var r = Check("hermes", ToolSet.Of("get_current_temperature"),
            "Let me check the weather for you.\n\n<tool_call>\n{\"name\": \"get_current_temperature\", \"arguments\": {\"location\": \"Paris\"}}\n</tool_call>");
        Assert.Equal("Let me check the weather for you.\n\n", r.Content);
        Assert.Single(r.Calls);
    }

    [Fact]
    public void HermesWithQwen3Thinking()
    {
        // Qwen3 model card: thinking in <think>...</think>, then the Hermes-style call (Qwen3 keeps Qwen2.5's tool format).
        var text = "<think>\nThe user wants the weather in Paris. I should call get_current_temperature.\n</think>\n\n" +
            "<tool_call>\n{\"name\": \"get_current_temperature\", \"arguments\": {\"location\": \"Paris, France\", \"unit\": \"celsius\"}}\n</tool_call>";
        var r = CheckStreaming(() => Parser("qwen3", "hermes", ToolSet.Of("get_current_temperature")), text);
        Assert.Equal("\nThe user wants the weather in Paris. I should call get_current_temperature.\n", r.Reasoning);
        Assert.Null(r.Content);
        Assert.Equal([("get_current_temperature", "{\"location\": \"Paris, France\", \"unit\": \"celsius\"}")], r.Calls);
    }

    // Qwen3-Coder's chat template (tokenizer_config.json of Qwen/Qwen3-Coder-30B-A3B-Instruct) writes calls as XML.
    [Fact]
    public void Qwen3CoderXml()
    {
        var tools = ToolSet.From(System.Text.Json.Nodes.JsonNode.Parse("""
            [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}, "zip": {"type": "string"}}}}}]
            """)!.AsArray());
        var r = Check("qwen3_coder", tools, "I'll check.\n<tool_call>\n<function=get_weather>\n<parameter=city>\nSan Francisco\n</parameter>\n<parameter=days>\n3\n</parameter>\n<parameter=zip>\n94103\n</parameter>\n</function>\n</tool_call>");
        Assert.Equal("I'll check.\n", r.Content);
        Assert.Equal([("get_weather", "{\"city\": \"San Francisco\", \"days\": 3, \"zip\": \"94103\"}")], r.Calls);
        var bad = Check("qwen3_coder", tools, "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</function>\n</tool_call>");
        Assert.Empty(bad.Calls);
    }

    // Llama 3.1 prompt format (meta-llama/llama-models, models/llama3_1/prompt_format.md, "JSON based tool calling"):
    // the assistant answers with the call as JSON (before <|eot_id|>, a stop token).
    [Theory]
    [InlineData("{\"name\": \"get_current_conditions\", \"parameters\": {\"location\": \"San Francisco, CA\", \"unit\": \"Fahrenheit\"}}")]
    [InlineData("<|python_tag|>{\"name\": \"get_current_conditions\", \"parameters\": {\"location\": \"San Francisco, CA\", \"unit\": \"Fahrenheit\"}}")]
    public void Llama3Json(string text)
    {
        var r = Check("llama3_json", ToolSet.Of("get_current_conditions"), text);
        Assert.Null(r.Content);
        Assert.Equal([("get_current_conditions", "{\"location\": \"San Francisco, CA\", \"unit\": \"Fahrenheit\"}")], r.Calls);
    }

    [Fact]
    public void Llama3JsonSeveralCallsAndPlainAnswers()
    {
        var tools = ToolSet.Of("get_weather", "get_time");
        var r = Check("llama3_json", tools, "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Oslo\"}}; {\"name\": \"get_time\", \"parameters\": {\"tz\": \"CET\"}}");
        Assert.Equal(["get_weather", "get_time"], r.Calls.Select(c => c.Name));
        // The built-in tools' Python call (same document, "Builtin Tool Calling") is not a JSON call: content.
        var builtin = "<|python_tag|>brave_search.call(query=\"current weather in Menlo Park, California\")";
        Assert.Equal(builtin, Check("llama3_json", tools, builtin).Content);
        Assert.Equal("The weather in Oslo is mild.", Check("llama3_json", tools, "The weather in Oslo is mild.").Content);
    }

    // Mistral-7B-Instruct-v0.3 (v3 tokenizer; Hugging Face chat templating docs, "Tool use"): [TOOL_CALLS] and a JSON list.
    [Fact]
    public void MistralV3List()
    {
        var r = Check("mistral", ToolSet.Of("get_current_weather"),
            "[TOOL_CALLS] [{\"name\": \"get_current_weather\", \"arguments\": {\"location\": \"Paris, France\", \"format\": \"celsius\"}}]");
        Assert.Null(r.Content);
        Assert.Equal([("get_current_weather", "{\"location\": \"Paris, France\", \"format\": \"celsius\"}")], r.Calls);
    }

    // mistral-common v11+ tokenizers (Mistral Small 3.2, Magistral, Devstral): [TOOL_CALLS]name[ARGS]{...} per call.
    [Fact]
    public void MistralV11NameArgs()
    {
        var r = Check("mistral", ToolSet.Of("get_current_weather", "get_time"),
            "[TOOL_CALLS]get_current_weather[ARGS]{\"location\": \"Paris, France\", \"format\": \"celsius\"}[TOOL_CALLS]get_time[ARGS]{\"tz\": \"CET\"}");
        Assert.Equal([("get_current_weather", "{\"location\": \"Paris, France\", \"format\": \"celsius\"}"), ("get_time", "{\"tz\": \"CET\"}")], r.Calls);
        var withId = Check("mistral", ToolSet.Of("get_time"), "Sure.[TOOL_CALLS]get_time[CALL_ID]a1b2c3d4e[ARGS]{\"tz\": \"CET\"}");
        Assert.Equal("Sure.", withId.Content);
        Assert.Equal([("get_time", "{\"tz\": \"CET\"}")], withId.Calls);
        Assert.Matches("^[A-Za-z0-9]{9}$", new MistralToolParser().NewCallId());
    }

    // Llama 3.2 lightweight models' prompt format (llama-models, models/llama3_2/text_prompt_format.md): pythonic calls;
    // and vLLM's pythonic docs example with two calls.
    [Fact]
    public void Pythonic()
    {
        var r = Check("pythonic", ToolSet.Of("get_user_info"), "[get_user_info(user_id=7890, special='black')]");
        Assert.Equal([("get_user_info", "{\"user_id\": 7890, \"special\": \"black\"}")], r.Calls);
        var two = Check("pythonic", ToolSet.Of("get_weather"), "[get_weather(city='San Francisco', metric='celsius'), get_weather(city='Seattle', metric='celsius')]");
        Assert.Equal([("get_weather", "{\"city\": \"San Francisco\", \"metric\": \"celsius\"}"), ("get_weather", "{\"city\": \"Seattle\", \"metric\": \"celsius\"}")], two.Calls);
        var literals = Check("pythonic", ToolSet.Of("f"), "<|python_start|>[f(a=-1.5, b=True, c=None, d=[1, (2, 3)], e={'k': \"v\\n\"}, g=\"é\")]<|python_end|>");
        Assert.Equal([("f", "{\"a\": -1.5, \"b\": true, \"c\": null, \"d\": [1, [2, 3]], \"e\": {\"k\": \"v\\n\"}, \"g\": \"é\"}")], literals.Calls);
    }

    // DeepSeek-V3's chat template (tokenizer_config.json) writes an assistant's calls in this form, which the model produces.
    [Fact]
    public void DeepSeekV3()
    {
        var r = Check("deepseek_v3", ToolSet.Of("get_weather"),
            "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"location\": \"Hangzhou\"}\n```<｜tool▁call▁end｜>" +
            "<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{\"location\": \"Beijing\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>");
        Assert.Equal([("get_weather", "{\"location\": \"Hangzhou\"}"), ("get_weather", "{\"location\": \"Beijing\"}")], r.Calls);
        // DeepSeek-V3.1's template: name before the separator, bare arguments after.
        var v31 = Check("deepseek_v3", ToolSet.Of("get_weather"),
            "I'll look it up.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{\"location\": \"Hangzhou\"}<｜tool▁call▁end｜><｜tool▁calls▁end｜>");
        Assert.Equal("I'll look it up.", v31.Content);
        Assert.Equal([("get_weather", "{\"location\": \"Hangzhou\"}")], v31.Calls);
    }

    // OpenAI's harmony format guide (cookbook.openai.com/articles/openai-harmony, "Function calling"): gpt-oss thinks on
    // the analysis channel, then calls on commentary; <|call|> is a stop token, so the text usually ends before it.
    [Theory]
    [InlineData("<|channel|>analysis<|message|>Need to use function get_current_weather.<|end|><|start|>assistant<|channel|>commentary to=functions.get_current_weather <|constrain|>json<|message|>{\"location\":\"San Francisco\"}<|call|>")]
    [InlineData("<|channel|>analysis<|message|>Need to use function get_current_weather.<|end|><|start|>assistant<|channel|>commentary to=functions.get_current_weather <|constrain|>json<|message|>{\"location\":\"San Francisco\"}")]
    [InlineData("<|channel|>analysis<|message|>Need to use function get_current_weather.<|end|><|start|>assistant to=functions.get_current_weather<|channel|>commentary json<|message|>{\"location\":\"San Francisco\"}")]
    public void OpenAIHarmony(string text)
    {
        var r = CheckStreaming(() => Parser("openai_gptoss", "openai", ToolSet.Of("get_current_weather")), text);
        Assert.Equal("Need to use function get_current_weather.", r.Reasoning);
        Assert.Null(r.Content);
        Assert.Equal([("get_current_weather", "{\"location\":\"San Francisco\"}")], r.Calls);
    }

    [Fact]
    public void OpenAIHarmonyFinalAnswer()
    {
        // The same guide's chain-of-thought example, ending on the final channel.
        var text = "<|channel|>analysis<|message|>User asks: \"What is 2 + 2?\" Simple arithmetic. Provide answer.<|end|><|start|>assistant<|channel|>final<|message|>2 + 2 = 4.";
        var r = CheckStreaming(() => Parser("openai_gptoss", "openai", ToolSet.Of("get_current_weather")), text);
        Assert.Equal("User asks: \"What is 2 + 2?\" Simple arithmetic. Provide answer.", r.Reasoning);
        Assert.Equal("2 + 2 = 4.", r.Content);
        Assert.Empty(r.Calls);
        var noTools = CheckStreaming(() => Parser("openai_gptoss", null, ToolSet.Empty), text);
        Assert.Equal("2 + 2 = 4.", noTools.Content);
    }
}
