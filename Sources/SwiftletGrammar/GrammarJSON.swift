extension Grammar {
    /// GBNF for a JSON object, for `response_format: {"type": "json_object"}`: the same language as
    /// llama.cpp's grammars/json.gbnf, so the same tokens are allowed at every step.
    ///
    /// Its limits are json.gbnf's: the top level is an object; strings exclude control characters and DEL,
    /// and their escapes are `\" \\ \b \f \n \r \t \uXXXX`; integers have at most 16 digits and no leading
    /// zero; an exponent is one digit then up to 15 digits 1-9; whitespace is at most one space, or a
    /// newline and up to 20 spaces or tabs, after each token.
    public static let json = #"""
        # A JSON object (the language of llama.cpp's grammars/json.gbnf).
        root     ::= object
        value    ::= object | array | string | number | literal
        literal  ::= ("true" | "false" | "null") ws
        object   ::= "{" ws ( member ( "," ws member )* )? "}" ws
        member   ::= string ":" ws value
        array    ::= "[" ws ( value ( "," ws value )* )? "]" ws
        string   ::= "\"" char* "\"" ws
        char     ::= [^"\\\x7F\x00-\x1F] | "\\" escape
        escape   ::= ["\\bfnrt] | "u" [0-9a-fA-F]{4}
        number   ::= integer fraction? exponent? ws
        integer  ::= "-"? ( [0-9] | [1-9] [0-9]{0,15} )
        fraction ::= "." [0-9]+
        exponent ::= [eE] [-+]? [0-9] [1-9]{0,15}
        # Optional whitespace after each token.
        ws       ::= | " " | "\n" [ \t]{0,20}
        """#
}
