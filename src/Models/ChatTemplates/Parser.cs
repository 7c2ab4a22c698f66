namespace Pipeline.Models.ChatTemplates;

/// <summary>Recursive-descent parser producing the statement tree; precedence follows jinja2's parser.</summary>
internal sealed partial class Parser
{
    private readonly List<Token> _tokens;
    private int _i;
    private int _loopDepth;

    // Recursive descent uses the CLR stack; refuse absurd nesting instead of overflowing it.
    private const int MaxNesting = 300;
    private int _nesting;

    private void Enter()
    {
        if (++_nesting > MaxNesting) throw Error("template nesting too deep", Cur);
    }

    private Parser(List<Token> tokens) => _tokens = tokens;

    public static List<Stmt> Parse(string source)
    {
        var p = new Parser(Lexer.Tokenize(source));
        var (body, end) = p.ParseBody([]);
        if (end != null) throw Error($"unexpected '{end}'", p.Prev);
        return body;
    }

    private Token Cur => _tokens[_i];
    private Token Prev => _tokens[Math.Max(0, _i - 1)];
    private Token Peek(int n = 1) => _tokens[Math.Min(_i + n, _tokens.Count - 1)];
    private Token Next() => _tokens[_i < _tokens.Count - 1 ? _i++ : _i];

    private static TemplateException Error(string msg, Token t) => new(msg, t.Line, t.Column);

    private T At<T>(T node, Token t) where T : Node => node with { Line = t.Line, Column = t.Column };

    private Token Expect(TokenKind kind, string? text = null)
    {
        var t = Cur;
        if (t.Kind != kind || (text != null && t.Text != text))
        {
            string want = text != null ? $"'{text}'" : kind switch
            {
                TokenKind.Name => "a name",
                TokenKind.BlockEnd => "end of statement block",
                TokenKind.VarEnd => "end of print statement",
                _ => kind.ToString(),
            };
            throw Error($"expected {want}, got {t.Describe()}", t);
        }
        return Next();
    }

    private bool SkipOp(string op)
    {
        if (!Cur.IsOp(op)) return false;
        _i++;
        return true;
    }

    private bool SkipName(string name)
    {
        if (!Cur.IsName(name)) return false;
        _i++;
        return true;
    }

    // Parses statements until a block tag whose name is in `ends`; returns that name (token after it is current).
    private (List<Stmt> Body, string? End) ParseBody(HashSet<string> ends)
    {
        var body = new List<Stmt>();
        while (true)
        {
            var t = Cur;
            switch (t.Kind)
            {
                case TokenKind.Eof:
                    if (ends.Count > 0)
                        throw Error($"unexpected end of template, expected one of: {string.Join(", ", ends.Select(e => "'" + e + "'"))}", t);
                    return (body, null);
                case TokenKind.Data:
                    Next();
                    body.Add(At(new TextStmt(t.Text), t));
                    break;
                case TokenKind.VarBegin:
                    Next();
                    var e = ParseTuple(withCondExpr: true);
                    Expect(TokenKind.VarEnd);
                    body.Add(At(new OutputStmt(e), t));
                    break;
                case TokenKind.BlockBegin:
                    Next();
                    var name = Cur;
                    if (name.Kind != TokenKind.Name) throw Error($"expected statement name, got {name.Describe()}", name);
                    if (ends.Contains(name.Text))
                    {
                        Next();
                        return (body, name.Text);
                    }
                    body.Add(ParseStatement());
                    break;
                default:
                    throw Error($"unexpected {t.Describe()}", t);
            }
        }
    }

    private List<Stmt> BodyUntil(string end)
    {
        var (b, _) = ParseBody([end]);
        SkipEndName();
        Expect(TokenKind.BlockEnd);
        return b;
    }

    private void SkipEndName()
    {
        if (Cur.Kind == TokenKind.Name) Next();
    }

    private Stmt ParseStatement()
    {
        Enter();
        try
        {
            return ParseStatementCore();
        }
        finally
        {
            _nesting--;
        }
    }

    private Stmt ParseStatementCore()
    {
        var t = Next();
        switch (t.Text)
        {
            case "for": return ParseFor(t);
            case "if": return ParseIf(t);
            case "set": return ParseSet(t);
            case "macro": return ParseMacro(t);
            case "call": return ParseCallBlock(t);
            case "filter":
            {
                var filters = ParseFilterChain(requireOne: true);
                Expect(TokenKind.BlockEnd);
                return At(new FilterBlockStmt(filters, BodyUntil("endfilter")), t);
            }
            case "with":
            {
                var assigns = new List<(Expr, Expr)>();
                while (Cur.Kind != TokenKind.BlockEnd)
                {
                    if (assigns.Count > 0) Expect(TokenKind.Op, ",");
                    var target = ParseAssignTarget(allowNamespace: false);
                    Expect(TokenKind.Op, "=");
                    assigns.Add((target, ParseExpression()));
                }
                Expect(TokenKind.BlockEnd);
                return At(new WithStmt(assigns, BodyUntil("endwith")), t);
            }
            case "generation":
                Expect(TokenKind.BlockEnd);
                return At(new ScopeStmt(BodyUntil("endgeneration")), t);
            case "block":
                Expect(TokenKind.Name);
                SkipName("scoped");
                Expect(TokenKind.BlockEnd);
                return At(new ScopeStmt(BodyUntil("endblock")), t);
            case "break":
            case "continue":
                if (_loopDepth == 0) throw Error($"'{t.Text}' outside of a loop", t);
                Expect(TokenKind.BlockEnd);
                return t.Text == "break" ? At(new BreakStmt(), t) : At(new ContinueStmt(), t);
            case "include":
            case "import":
            case "from":
            case "extends":
                throw Error($"'{t.Text}' is not supported in chat templates", t);
            default:
                throw Error($"unknown tag '{t.Text}'", t);
        }
    }

    private Stmt ParseFor(Token t)
    {
        var target = ParseAssignTarget(allowNamespace: false, extraEnd: "in");
        Expect(TokenKind.Name, "in");
        var iter = ParseTuple(withCondExpr: false, extraEnd: "recursive");
        Expr? filter = null;
        if (SkipName("if")) filter = ParseExpression();
        bool recursive = SkipName("recursive");
        Expect(TokenKind.BlockEnd);
        _loopDepth++;
        var (body, end) = ParseBody(["endfor", "else"]);
        _loopDepth--;
        List<Stmt>? elseBody = null;
        if (end == "else")
        {
            Expect(TokenKind.BlockEnd);
            (elseBody, _) = ParseBody(["endfor"]);
        }
        Expect(TokenKind.BlockEnd);
        return At(new ForStmt(target, iter, filter, body, elseBody, recursive), t);
    }

    private Stmt ParseIf(Token t)
    {
        var branches = new List<(Expr, List<Stmt>)>();
        List<Stmt>? elseBody = null;
        var test = ParseTuple(withCondExpr: false);
        while (true)
        {
            Expect(TokenKind.BlockEnd);
            var (body, end) = ParseBody(["elif", "else", "endif"]);
            branches.Add((test, body));
            if (end == "elif")
            {
                test = ParseTuple(withCondExpr: false);
                continue;
            }
            if (end == "else")
            {
                Expect(TokenKind.BlockEnd);
                (elseBody, _) = ParseBody(["endif"]);
            }
            Expect(TokenKind.BlockEnd);
            return At(new IfStmt(branches, elseBody), t);
        }
    }

    private Stmt ParseSet(Token t)
    {
        var target = ParseAssignTarget(allowNamespace: true);
        if (SkipOp("="))
        {
            var value = ParseTuple(withCondExpr: true);
            Expect(TokenKind.BlockEnd);
            return At(new SetStmt(target, value), t);
        }
        var filters = ParseFilterChain(requireOne: false);
        Expect(TokenKind.BlockEnd);
        return At(new SetBlockStmt(target, filters, BodyUntil("endset")), t);
    }

    private List<MacroParam> ParseParams()
    {
        var ps = new List<MacroParam>();
        Expect(TokenKind.Op, "(");
        while (!SkipOp(")"))
        {
            if (ps.Count > 0) Expect(TokenKind.Op, ",");
            if (SkipOp(")")) break;
            var name = Expect(TokenKind.Name).Text;
            Expr? def = SkipOp("=") ? ParseExpression() : null;
            ps.Add(new MacroParam(name, def));
        }
        return ps;
    }

    private Stmt ParseMacro(Token t)
    {
        var name = Expect(TokenKind.Name).Text;
        var ps = ParseParams();
        Expect(TokenKind.BlockEnd);
        int saved = _loopDepth;
        _loopDepth = 0;
        var body = BodyUntil("endmacro");
        _loopDepth = saved;
        return At(new MacroStmt(name, ps, body), t);
    }

    private Stmt ParseCallBlock(Token t)
    {
        var ps = Cur.IsOp("(") ? ParseParams() : [];
        var call = ParseExpression() as CallExpr ?? throw Error("expected a macro call", t);
        Expect(TokenKind.BlockEnd);
        int saved = _loopDepth;
        _loopDepth = 0;
        var body = BodyUntil("endcall");
        _loopDepth = saved;
        return At(new CallBlockStmt(call, ps, body), t);
    }

    private List<FilterExpr> ParseFilterChain(bool requireOne)
    {
        var list = new List<FilterExpr>();
        if (requireOne || Cur.IsOp("|"))
        {
            if (!requireOne) Next();
            list.Add(ParseFilter(null));
            while (SkipOp("|")) list.Add(ParseFilter(null));
        }
        return list;
    }

    private Expr ParseAssignTarget(bool allowNamespace, string? extraEnd = null)
    {
        var t = Cur;
        var items = new List<Expr>();
        bool paren = SkipOp("(");
        bool sawComma = false;
        while (true)
        {
            var nt = Expect(TokenKind.Name);
            Expr target = At(new NameExpr(nt.Text), nt);
            if (allowNamespace && SkipOp("."))
                target = At(new AttrExpr(target, Expect(TokenKind.Name).Text), nt);
            items.Add(target);
            if (!SkipOp(",")) break;
            sawComma = true;
            if (Cur.Kind != TokenKind.Name || (extraEnd != null && Cur.IsName(extraEnd))) break;
        }
        if (paren) Expect(TokenKind.Op, ")");
        return items.Count == 1 && !sawComma ? items[0] : At(new TupleExpr(items), t);
    }
}
