using System.Text;
using System.Text.Json;
using Pipeline.Host.Cli;
using Pipeline.Models.Loading;
using Pipeline.Models.Tokenizers;

namespace Pipeline.Host.Commands;

/// <summary>`pipeline tokenize` and `pipeline detokenize`: the model's tokenizer on its own.</summary>
public static class TokenizeCommand
{
    public static readonly CommandSpec Spec = new("tokenize", "Print the token ids of texts (or of a chat rendered with the model's template).", ["[MODEL]"],
    [
        new("text", "text to tokenize", Repeats: true, Metavar: "T"),
        new("no-special-tokens", "do not add BOS/EOS or other template tokens", IsFlag: true),
        new("messages", "a JSON file with a list of chat messages to render with the chat template, then tokenize", Metavar: "FILE.json"),
        new("chat-template", "a Jinja chat template (file or string) instead of the model's"),
        new("no-generation-prompt", "with --messages: do not append the assistant turn opener", IsFlag: true),
        new("output", "text or json", "json"),
        new("tokenizer", "tokenizer directory, when it is not the model directory"),
        new("revision", "model revision (branch, tag or commit): from the cache, else downloaded"),
        .. HubCliOptions.Options,
    ]);

    public static readonly CommandSpec DetokenizeSpec = new("detokenize", "Print the text of token ids.", ["[MODEL]"],
    [
        new("ids", "comma-separated token ids", Repeats: true, Metavar: "1,2,3"),
        new("skip-special-tokens", "leave special tokens out of the text", IsFlag: true),
        new("output", "text or json", "text"),
        new("tokenizer", "tokenizer directory, when it is not the model directory"),
        new("revision", "model revision (branch, tag or commit): from the cache, else downloaded"),
        .. HubCliOptions.Options,
    ]);

    static HfTokenizer Load(ParsedArgs args)
    {
        var model = DefaultModel.Resolve(args.Positionals);
        var dir = ModelResolver.Resolve(args.Get("tokenizer") ?? model, args.Get("tokenizer") == null ? args.Get("revision") : null);
        return HfTokenizer.Load(dir);
    }

    public static int Run(ParsedArgs args)
    {
        var texts = args.GetAll("text");
        var messagesFile = args.Get("messages");
        if (texts.Count == 0 && messagesFile == null) throw new CliException("give at least one --text or --messages FILE.json");
        var tok = Load(args);
        var json = args.Choice("output", "text", "json") == "json";
        bool special = !args.Flag("no-special-tokens");
        foreach (var t in texts)
        {
            var ids = tok.Encode(t, special);
            Console.Out.WriteLine(json ? $"{{\"ids\":[{string.Join(",", ids)}]}}" : string.Join(",", ids));
        }
        if (messagesFile != null)
        {
            var prompt = ChatRendering.Render(tok, messagesFile, args.Get("chat-template"), !args.Flag("no-generation-prompt"));
            // A rendered chat already carries its special tokens (BOS included), as vLLM tokenizes it.
            var ids = tok.Encode(prompt, addSpecialTokens: false);
            Console.Out.WriteLine(json ? Json(w => { w.WriteString("prompt", prompt); w.WriteStartArray("ids"); foreach (var i in ids) w.WriteNumberValue(i); w.WriteEndArray(); }) : prompt);
        }
        return 0;
    }

    public static int RunDetokenize(ParsedArgs args)
    {
        var all = args.GetAll("ids");
        if (all.Count == 0) throw new CliException("give --ids 1,2,3");
        var tok = Load(args);
        var json = args.Choice("output", "text", "json") == "json";
        foreach (var s in all)
        {
            var ids = GenerateCommand.ParseIds(s, "ids");
            foreach (var id in ids)
                if (id >= tok.VocabSize) throw new CliException($"--ids: token id {id} is not in the vocabulary (size {tok.VocabSize})");
            var text = tok.Decode(ids, args.Flag("skip-special-tokens"));
            Console.Out.WriteLine(json ? Json(w => w.WriteString("text", text)) : text);
        }
        return 0;
    }

    static string Json(Action<Utf8JsonWriter> body)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }
}
