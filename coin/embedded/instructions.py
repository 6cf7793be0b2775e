"""Evaluation instructions written for this project, in the structure of PromptBench's prompt sets.

Read as data only: coin.prompts.instructions parses these literal dicts with `ast.literal_eval`; the
module is never imported to obtain them. Keys are PromptBench's GLUE tasks. Every instruction names its
task's label words in single quotes (PromptBench's label words) and has no placeholders: the input is
appended by the prompt format. The wording is our own.

- TASK_ORIENTED_PROMPT_SET: task -> 5 instructions that describe the task.
- ROLE_ORIENTED_PROMPT_SET: task -> 5 instructions that give the model a role ("As a ...", "You are ...").
- SEMANTIC_ADV_PROMPT_SET: task -> language -> 4 English instructions phrased the way a speaker of that
  language might put them (literal word order, idioms), for the semantic perturbation group.
"""

TASK_ORIENTED_PROMPT_SET = {
    'sst2': [
        "Read the sentence and decide whether its feeling is 'positive' or 'negative'; reply with one of those two words.",
        "Label the mood of this movie comment as 'positive' or 'negative'.",
        "Tell me if the writer of the following text sounds 'positive' or 'negative' about the film.",
        "Classify the opinion in the input. Answer 'positive' when it praises and 'negative' when it complains.",
        "Which way does this review lean? Respond with 'positive' or 'negative' only.",
    ],
    'cola': [
        "Decide whether the sentence follows English grammar and answer 'acceptable' or 'unacceptable'.",
        "Is the following sentence well formed? Reply with 'acceptable' or 'unacceptable'.",
        "Judge the grammar of the input and label it 'acceptable' if it is correct, otherwise 'unacceptable'.",
        "Check word order, agreement and missing words, then answer 'acceptable' or 'unacceptable'.",
        "Give a grammaticality verdict for this sentence, either 'acceptable' or 'unacceptable'.",
    ],
    'qqp': [
        "Do the two questions ask for the same information? Answer 'equivalent' or 'not_equivalent'.",
        "Compare the pair of questions and label them 'equivalent' if they mean the same, else 'not_equivalent'.",
        "Decide whether one answer would satisfy both questions; reply 'equivalent' or 'not_equivalent'.",
        "Classify this question pair as 'equivalent' or 'not_equivalent' in meaning.",
        "Tell me if these questions are duplicates by answering 'equivalent' or 'not_equivalent'.",
    ],
    'mrpc': [
        "Do these two sentences express the same meaning? Answer 'equivalent' or 'not_equivalent'.",
        "Decide whether the second sentence is a paraphrase of the first and reply 'equivalent' or 'not_equivalent'.",
        "Compare the facts in both sentences and label the pair 'equivalent' or 'not_equivalent'.",
        "Say 'equivalent' if the sentences report the same event, otherwise say 'not_equivalent'.",
        "Classify the sentence pair as 'equivalent' or 'not_equivalent' in meaning.",
    ],
    'mnli': [
        "Given the premise and the hypothesis, answer 'entailment', 'neutral', or 'contradiction'.",
        "Does the first sentence support, contradict, or say nothing about the second? Reply 'entailment', 'contradiction', or 'neutral'.",
        "Say how the second sentence stands toward the first: 'entailment', 'neutral', or 'contradiction'.",
        "Read both sentences and decide: 'entailment' if the second follows, 'contradiction' if it clashes, 'neutral' otherwise.",
        "Classify this sentence pair with one word: 'entailment', 'neutral', or 'contradiction'.",
    ],
    'qnli': [
        "Does the sentence contain the answer to the question? Reply 'entailment' or 'not_entailment'.",
        "If the given line settles what is asked, write 'entailment'; if it leaves the asker without a reply, write 'not_entailment'.",
        "Label the question and sentence pair 'entailment' if the answer is there, else 'not_entailment'.",
        "Check if the sentence gives what the question asks for, then say 'entailment' or 'not_entailment'.",
        "Classify whether this sentence resolves the question, using 'entailment' or 'not_entailment'.",
    ],
    'rte': [
        "Does the first text imply the second? Answer 'entailment' or 'not_entailment'.",
        "Decide whether the second sentence must be true given the first, and reply 'entailment' or 'not_entailment'.",
        "Label the sentence pair 'entailment' if the claim follows from the text, otherwise 'not_entailment'.",
        "Read the text and the claim, then answer with 'entailment' or 'not_entailment'.",
        "Classify whether the text supports the statement, choosing 'entailment' or 'not_entailment'.",
    ],
    'wnli': [
        "Resolve the pronoun and decide whether the second sentence follows, answering 'entailment' or 'not_entailment'.",
        "Does the first sentence imply the second one? Reply with 'entailment' or 'not_entailment'.",
        "Work out who the pronoun refers to, then answer 'entailment' or 'not_entailment'.",
        "Label this pair 'entailment' if the rewrite keeps the meaning, otherwise 'not_entailment'.",
        "Once the pronoun is clear, tell me whether the second line is backed by the first: 'entailment' or 'not_entailment'.",
    ],
}

ROLE_ORIENTED_PROMPT_SET = {
    'sst2': [
        "As a film critic who reads hundreds of reviews, mark the sentiment of this one as 'positive' or 'negative'.",
        "Acting as a sentiment classifier, give 'positive' or 'negative' for the text below.",
        "You are a careful reader of audience feedback. Say whether this comment is 'positive' or 'negative'.",
        "As an opinion mining system, output 'positive' or 'negative' for the following sentence.",
        "You are a cinema owner sorting comment cards; file this one under 'positive' or 'negative'.",
    ],
    'cola': [
        "As an English teacher grading homework, mark this sentence 'acceptable' or 'unacceptable'.",
        "Acting as a grammar checker, return 'acceptable' for a correct sentence and 'unacceptable' for a broken one.",
        "You are a copy editor; tell me if the sentence is 'acceptable' or 'unacceptable' as written.",
        "As a linguist studying sentence structure, classify the input as 'acceptable' or 'unacceptable'.",
        "You are a proofreading tool. Output 'acceptable' or 'unacceptable' for the sentence given.",
    ],
    'qqp': [
        "As a forum moderator merging repeated posts, say whether these questions are 'equivalent' or 'not_equivalent'.",
        "Acting as a duplicate detector for a question site, output 'equivalent' or 'not_equivalent'.",
        "You are a search engineer matching user queries; label the two questions 'equivalent' or 'not_equivalent'.",
        "As a librarian sorting reader questions, decide if this pair is 'equivalent' or 'not_equivalent'.",
        "You are a help desk agent; mark the two tickets 'equivalent' if they ask the same thing, otherwise 'not_equivalent'.",
    ],
    'mrpc': [
        "As a news editor checking for repeated stories, label these sentences 'equivalent' or 'not_equivalent'.",
        "Acting as a paraphrase detector, return 'equivalent' or 'not_equivalent' for the pair.",
        "You are a translator reviewing rewrites; tell me if the two sentences are 'equivalent' or 'not_equivalent'.",
        "As a fact checker comparing two reports, answer 'equivalent' or 'not_equivalent'.",
        "You are a writing tutor; decide whether the rewrite is 'equivalent' or 'not_equivalent' to the original.",
    ],
    'mnli': [
        "As a logic instructor, judge whether the pair shows 'entailment', 'neutral', or 'contradiction'.",
        "Acting as an inference engine, output 'entailment', 'neutral', or 'contradiction' for these sentences.",
        "You are a judge weighing two statements; rule 'entailment', 'neutral', or 'contradiction'.",
        "As a reading comprehension expert, tell me if the relation is 'entailment', 'neutral', or 'contradiction'.",
        "You are an annotator for a language dataset; tag the pair 'entailment', 'neutral', or 'contradiction'.",
    ],
    'qnli': [
        "As a quiz master checking sources, say 'entailment' or 'not_entailment' for this question and sentence.",
        "Acting as a question answering system, return 'entailment' if the sentence answers it and 'not_entailment' if not.",
        "You are a research assistant; tell me if the sentence is 'entailment' or 'not_entailment' for the question.",
        "As a search evaluator, mark the retrieved sentence 'entailment' or 'not_entailment' for the query.",
        "You are a teacher marking answers; label this pair 'entailment' or 'not_entailment'.",
    ],
    'rte': [
        "As a lawyer reading evidence, decide if the statement is 'entailment' or 'not_entailment' of the text.",
        "Acting as an entailment classifier, output 'entailment' or 'not_entailment' for the two sentences.",
        "You are a careful reader checking claims; say 'entailment' or 'not_entailment' for this pair.",
        "As a fact verification tool, label the claim 'entailment' or 'not_entailment' with respect to the text.",
        "You are a debate judge; rule 'entailment' if the conclusion follows and 'not_entailment' if it does not.",
    ],
    'wnli': [
        "As a linguist studying pronouns, mark the pair 'entailment' or 'not_entailment'.",
        "Acting as a coreference resolver, output 'entailment' or 'not_entailment' for these sentences.",
        "You are a reading tutor; tell me if the second sentence is 'entailment' or 'not_entailment' of the first.",
        "As a puzzle expert who loves tricky pronouns, answer 'entailment' or 'not_entailment' for this pair.",
        "You are an annotator checking pronoun references; label the pair 'entailment' or 'not_entailment'.",
    ],
}

SEMANTIC_ADV_PROMPT_SET = {
    'sst2': {
        'chinese': [
            "Please according to the content of the text, decide the feeling of this sentence, answer 'positive' or 'negative'.",
            "Read the following text carefully, then decide the feeling of this sentence; only can answer 'positive' or 'negative'.",
            "For this text, you need to decide the feeling of this sentence, the answer is one of 'positive' and 'negative'.",
            "Request you to decide the feeling of this sentence. The answer chooses 'positive' or 'negative', do not say other words.",
        ],
        'french': [
            "I would like that you decide the feeling of this sentence, and that you respond by 'positive' or 'negative'.",
            "Could you have the kindness to decide the feeling of this sentence? Answer with 'positive' or 'negative', please.",
            "It is a question here of deciding the feeling of this sentence; one responds with 'positive' or 'negative'.",
            "In reading the text, decide the feeling of this sentence and indicate 'positive' or 'negative'.",
        ],
        'arabic': [
            "O reader, decide the feeling of this sentence and answer with 'positive' or 'negative' and nothing more than that.",
            "It is requested from you that you decide the feeling of this sentence, so answer 'positive' or 'negative'.",
            "Look in the text well, then decide the feeling of this sentence, and the answer is either 'positive' or 'negative'.",
            "Upon you to decide the feeling of this sentence; choose between 'positive' and 'negative' only.",
        ],
        'spanish': [
            "Please, decide the feeling of this sentence and respond with 'positive' or 'negative'.",
            "I need that you decide the feeling of this sentence; the answer has to be 'positive' or 'negative'.",
            "Give a look to the text and decide the feeling of this sentence, saying 'positive' or 'negative'.",
            "Is it possible that you decide the feeling of this sentence? Respond only 'positive' or 'negative'.",
        ],
        'japanese': [
            "Regarding the following text, please decide the feeling of this sentence, and answer 'positive' or 'negative'.",
            "The text is shown below. Decide the feeling of this sentence, and answer as 'positive' or 'negative', please.",
            "Sorry to trouble you, but please decide the feeling of this sentence and reply with 'positive' or 'negative'.",
            "The feeling of this text, which is it, 'positive' or 'negative'? Please answer.",
        ],
        'korean': [
            "Please decide the feeling of this sentence about the following text, and answer as 'positive' or 'negative'.",
            "Text is given. Decide the feeling of this sentence and select 'positive' or 'negative'.",
            "This text, decide the feeling of this sentence and then among 'positive' and 'negative' please choose one.",
            "Please kindly decide the feeling of this sentence; the answer must be among 'positive' and 'negative'.",
        ],
    },
    'cola': {
        'chinese': [
            "Please according to the content of the text, check if the grammar of this sentence is correct, answer 'acceptable' or 'unacceptable'.",
            "Read the following text carefully, then check if the grammar of this sentence is correct; only can answer 'acceptable' or 'unacceptable'.",
            "For this text, you need to check if the grammar of this sentence is correct, the answer is one of 'acceptable' and 'unacceptable'.",
            "Request you to check if the grammar of this sentence is correct. The answer chooses 'acceptable' or 'unacceptable', do not say other words.",
        ],
        'french': [
            "I would like that you check if the grammar of this sentence is correct, and that you respond by 'acceptable' or 'unacceptable'.",
            "Could you have the kindness to check if the grammar of this sentence is correct? Answer with 'acceptable' or 'unacceptable', please.",
            "It is a question here of checking if the grammar of this sentence is correct; one responds with 'acceptable' or 'unacceptable'.",
            "In reading the text, check if the grammar of this sentence is correct and indicate 'acceptable' or 'unacceptable'.",
        ],
        'arabic': [
            "O reader, check if the grammar of this sentence is correct and answer with 'acceptable' or 'unacceptable' and nothing more than that.",
            "It is requested from you that you check if the grammar of this sentence is correct, so answer 'acceptable' or 'unacceptable'.",
            "Look in the text well, then check if the grammar of this sentence is correct, and the answer is either 'acceptable' or 'unacceptable'.",
            "Upon you to check if the grammar of this sentence is correct; choose between 'acceptable' and 'unacceptable' only.",
        ],
        'spanish': [
            "Please, check if the grammar of this sentence is correct and respond with 'acceptable' or 'unacceptable'.",
            "I need that you check if the grammar of this sentence is correct; the answer has to be 'acceptable' or 'unacceptable'.",
            "Give a look to the text and check if the grammar of this sentence is correct, saying 'acceptable' or 'unacceptable'.",
            "Is it possible that you check if the grammar of this sentence is correct? Respond only 'acceptable' or 'unacceptable'.",
        ],
        'japanese': [
            "Regarding the following text, please check if the grammar of this sentence is correct, and answer 'acceptable' or 'unacceptable'.",
            "The text is shown below. Check if the grammar of this sentence is correct, and answer as 'acceptable' or 'unacceptable', please.",
            "Sorry to trouble you, but please check if the grammar of this sentence is correct and reply with 'acceptable' or 'unacceptable'.",
            "The grammar of this text, which is it, 'acceptable' or 'unacceptable'? Please answer.",
        ],
        'korean': [
            "Please check if the grammar of this sentence is correct about the following text, and answer as 'acceptable' or 'unacceptable'.",
            "Text is given. Check if the grammar of this sentence is correct and select 'acceptable' or 'unacceptable'.",
            "This text, check if the grammar of this sentence is correct and then among 'acceptable' and 'unacceptable' please choose one.",
            "Please kindly check if the grammar of this sentence is correct; the answer must be among 'acceptable' and 'unacceptable'.",
        ],
    },
    'qqp': {
        'chinese': [
            "Please according to the content of the text, see if the two questions ask the same thing, answer 'equivalent' or 'not_equivalent'.",
            "Read the following text carefully, then see if the two questions ask the same thing; only can answer 'equivalent' or 'not_equivalent'.",
            "For this text, you need to see if the two questions ask the same thing, the answer is one of 'equivalent' and 'not_equivalent'.",
            "Request you to see if the two questions ask the same thing. The answer chooses 'equivalent' or 'not_equivalent', do not say other words.",
        ],
        'french': [
            "I would like that you see if the two questions ask the same thing, and that you respond by 'equivalent' or 'not_equivalent'.",
            "Could you have the kindness to see if the two questions ask the same thing? Answer with 'equivalent' or 'not_equivalent', please.",
            "It is a question here of seeing if the two questions ask the same thing; one responds with 'equivalent' or 'not_equivalent'.",
            "In reading the text, see if the two questions ask the same thing and indicate 'equivalent' or 'not_equivalent'.",
        ],
        'arabic': [
            "O reader, see if the two questions ask the same thing and answer with 'equivalent' or 'not_equivalent' and nothing more than that.",
            "It is requested from you that you see if the two questions ask the same thing, so answer 'equivalent' or 'not_equivalent'.",
            "Look in the text well, then see if the two questions ask the same thing, and the answer is either 'equivalent' or 'not_equivalent'.",
            "Upon you to see if the two questions ask the same thing; choose between 'equivalent' and 'not_equivalent' only.",
        ],
        'spanish': [
            "Please, see if the two questions ask the same thing and respond with 'equivalent' or 'not_equivalent'.",
            "I need that you see if the two questions ask the same thing; the answer has to be 'equivalent' or 'not_equivalent'.",
            "Give a look to the text and see if the two questions ask the same thing, saying 'equivalent' or 'not_equivalent'.",
            "Is it possible that you see if the two questions ask the same thing? Respond only 'equivalent' or 'not_equivalent'.",
        ],
        'japanese': [
            "Regarding the following text, please see if the two questions ask the same thing, and answer 'equivalent' or 'not_equivalent'.",
            "The text is shown below. See if the two questions ask the same thing, and answer as 'equivalent' or 'not_equivalent', please.",
            "Sorry to trouble you, but please see if the two questions ask the same thing and reply with 'equivalent' or 'not_equivalent'.",
            "The sameness of the two questions of this text, which is it, 'equivalent' or 'not_equivalent'? Please answer.",
        ],
        'korean': [
            "Please see if the two questions ask the same thing about the following text, and answer as 'equivalent' or 'not_equivalent'.",
            "Text is given. See if the two questions ask the same thing and select 'equivalent' or 'not_equivalent'.",
            "This text, see if the two questions ask the same thing and then among 'equivalent' and 'not_equivalent' please choose one.",
            "Please kindly see if the two questions ask the same thing; the answer must be among 'equivalent' and 'not_equivalent'.",
        ],
    },
    'mrpc': {
        'chinese': [
            "Please according to the content of the text, see if the two sentences have the same meaning, answer 'equivalent' or 'not_equivalent'.",
            "Read the following text carefully, then see if the two sentences have the same meaning; only can answer 'equivalent' or 'not_equivalent'.",
            "For this text, you need to see if the two sentences have the same meaning, the answer is one of 'equivalent' and 'not_equivalent'.",
            "Request you to see if the two sentences have the same meaning. The answer chooses 'equivalent' or 'not_equivalent', do not say other words.",
        ],
        'french': [
            "I would like that you see if the two sentences have the same meaning, and that you respond by 'equivalent' or 'not_equivalent'.",
            "Could you have the kindness to see if the two sentences have the same meaning? Answer with 'equivalent' or 'not_equivalent', please.",
            "It is a question here of seeing if the two sentences have the same meaning; one responds with 'equivalent' or 'not_equivalent'.",
            "In reading the text, see if the two sentences have the same meaning and indicate 'equivalent' or 'not_equivalent'.",
        ],
        'arabic': [
            "O reader, see if the two sentences have the same meaning and answer with 'equivalent' or 'not_equivalent' and nothing more than that.",
            "It is requested from you that you see if the two sentences have the same meaning, so answer 'equivalent' or 'not_equivalent'.",
            "Look in the text well, then see if the two sentences have the same meaning, and the answer is either 'equivalent' or 'not_equivalent'.",
            "Upon you to see if the two sentences have the same meaning; choose between 'equivalent' and 'not_equivalent' only.",
        ],
        'spanish': [
            "Please, see if the two sentences have the same meaning and respond with 'equivalent' or 'not_equivalent'.",
            "I need that you see if the two sentences have the same meaning; the answer has to be 'equivalent' or 'not_equivalent'.",
            "Give a look to the text and see if the two sentences have the same meaning, saying 'equivalent' or 'not_equivalent'.",
            "Is it possible that you see if the two sentences have the same meaning? Respond only 'equivalent' or 'not_equivalent'.",
        ],
        'japanese': [
            "Regarding the following text, please see if the two sentences have the same meaning, and answer 'equivalent' or 'not_equivalent'.",
            "The text is shown below. See if the two sentences have the same meaning, and answer as 'equivalent' or 'not_equivalent', please.",
            "Sorry to trouble you, but please see if the two sentences have the same meaning and reply with 'equivalent' or 'not_equivalent'.",
            "The sameness of meaning of this text, which is it, 'equivalent' or 'not_equivalent'? Please answer.",
        ],
        'korean': [
            "Please see if the two sentences have the same meaning about the following text, and answer as 'equivalent' or 'not_equivalent'.",
            "Text is given. See if the two sentences have the same meaning and select 'equivalent' or 'not_equivalent'.",
            "This text, see if the two sentences have the same meaning and then among 'equivalent' and 'not_equivalent' please choose one.",
            "Please kindly see if the two sentences have the same meaning; the answer must be among 'equivalent' and 'not_equivalent'.",
        ],
    },
    'mnli': {
        'chinese': [
            "Please according to the content of the text, work out how the second sentence stands toward the first, answer 'entailment', 'neutral' or 'contradiction'.",
            "Read the following text carefully, then work out how the second sentence stands toward the first; only can answer 'entailment', 'neutral' or 'contradiction'.",
            "For this text, you need to work out how the second sentence stands toward the first, the answer is one of 'entailment', 'neutral' and 'contradiction'.",
            "Request you to work out how the second sentence stands toward the first. The answer chooses 'entailment', 'neutral' or 'contradiction', do not say other words.",
        ],
        'french': [
            "I would like that you work out how the second sentence stands toward the first, and that you respond by 'entailment', 'neutral' or 'contradiction'.",
            "Could you have the kindness to work out how the second sentence stands toward the first? Answer with 'entailment', 'neutral' or 'contradiction', please.",
            "It is a question here of working out how the second sentence stands toward the first; one responds with 'entailment', 'neutral' or 'contradiction'.",
            "In reading the text, work out how the second sentence stands toward the first and indicate 'entailment', 'neutral' or 'contradiction'.",
        ],
        'arabic': [
            "O reader, work out how the second sentence stands toward the first and answer with 'entailment', 'neutral' or 'contradiction' and nothing more than that.",
            "It is requested from you that you work out how the second sentence stands toward the first, so answer 'entailment', 'neutral' or 'contradiction'.",
            "Look in the text well, then work out how the second sentence stands toward the first, and the answer is either 'entailment', 'neutral' or 'contradiction'.",
            "Upon you to work out how the second sentence stands toward the first; choose between 'entailment', 'neutral' and 'contradiction' only.",
        ],
        'spanish': [
            "Please, work out how the second sentence stands toward the first and respond with 'entailment', 'neutral' or 'contradiction'.",
            "I need that you work out how the second sentence stands toward the first; the answer has to be 'entailment', 'neutral' or 'contradiction'.",
            "Give a look to the text and work out how the second sentence stands toward the first, saying 'entailment', 'neutral' or 'contradiction'.",
            "Is it possible that you work out how the second sentence stands toward the first? Respond only 'entailment', 'neutral' or 'contradiction'.",
        ],
        'japanese': [
            "Regarding the following text, please work out how the second sentence stands toward the first, and answer 'entailment', 'neutral' or 'contradiction'.",
            "The text is shown below. Work out how the second sentence stands toward the first, and answer as 'entailment', 'neutral' or 'contradiction', please.",
            "Sorry to trouble you, but please work out how the second sentence stands toward the first and reply with 'entailment', 'neutral' or 'contradiction'.",
            "The link between the two sentences of this text, which is it, 'entailment', 'neutral' or 'contradiction'? Please answer.",
        ],
        'korean': [
            "Please work out how the second sentence stands toward the first about the following text, and answer as 'entailment', 'neutral' or 'contradiction'.",
            "Text is given. Work out how the second sentence stands toward the first and select 'entailment', 'neutral' or 'contradiction'.",
            "This text, work out how the second sentence stands toward the first and then among 'entailment', 'neutral' and 'contradiction' please choose one.",
            "Please kindly work out how the second sentence stands toward the first; the answer must be among 'entailment', 'neutral' and 'contradiction'.",
        ],
    },
    'qnli': {
        'chinese': [
            "Please according to the content of the text, see if the sentence gives the answer of the question, answer 'entailment' or 'not_entailment'.",
            "Read the following text carefully, then see if the sentence gives the answer of the question; only can answer 'entailment' or 'not_entailment'.",
            "For this text, you need to see if the sentence gives the answer of the question, the answer is one of 'entailment' and 'not_entailment'.",
            "Request you to see if the sentence gives the answer of the question. The answer chooses 'entailment' or 'not_entailment', do not say other words.",
        ],
        'french': [
            "I would like that you see if the sentence gives the answer of the question, and that you respond by 'entailment' or 'not_entailment'.",
            "Could you have the kindness to see if the sentence gives the answer of the question? Answer with 'entailment' or 'not_entailment', please.",
            "It is a question here of seeing if the sentence gives the answer of the question; one responds with 'entailment' or 'not_entailment'.",
            "In reading the text, see if the sentence gives the answer of the question and indicate 'entailment' or 'not_entailment'.",
        ],
        'arabic': [
            "O reader, see if the sentence gives the answer of the question and answer with 'entailment' or 'not_entailment' and nothing more than that.",
            "It is requested from you that you see if the sentence gives the answer of the question, so answer 'entailment' or 'not_entailment'.",
            "Look in the text well, then see if the sentence gives the answer of the question, and the answer is either 'entailment' or 'not_entailment'.",
            "Upon you to see if the sentence gives the answer of the question; choose between 'entailment' and 'not_entailment' only.",
        ],
        'spanish': [
            "Please, see if the sentence gives the answer of the question and respond with 'entailment' or 'not_entailment'.",
            "I need that you see if the sentence gives the answer of the question; the answer has to be 'entailment' or 'not_entailment'.",
            "Give a look to the text and see if the sentence gives the answer of the question, saying 'entailment' or 'not_entailment'.",
            "Is it possible that you see if the sentence gives the answer of the question? Respond only 'entailment' or 'not_entailment'.",
        ],
        'japanese': [
            "Regarding the following text, please see if the sentence gives the answer of the question, and answer 'entailment' or 'not_entailment'.",
            "The text is shown below. See if the sentence gives the answer of the question, and answer as 'entailment' or 'not_entailment', please.",
            "Sorry to trouble you, but please see if the sentence gives the answer of the question and reply with 'entailment' or 'not_entailment'.",
            "The relation of question and sentence of this text, which is it, 'entailment' or 'not_entailment'? Please answer.",
        ],
        'korean': [
            "Please see if the sentence gives the answer of the question about the following text, and answer as 'entailment' or 'not_entailment'.",
            "Text is given. See if the sentence gives the answer of the question and select 'entailment' or 'not_entailment'.",
            "This text, see if the sentence gives the answer of the question and then among 'entailment' and 'not_entailment' please choose one.",
            "Please kindly see if the sentence gives the answer of the question; the answer must be among 'entailment' and 'not_entailment'.",
        ],
    },
    'rte': {
        'chinese': [
            "Please according to the content of the text, decide if the first sentence makes the second one true, answer 'entailment' or 'not_entailment'.",
            "Read the following text carefully, then decide if the first sentence makes the second one true; only can answer 'entailment' or 'not_entailment'.",
            "For this text, you need to decide if the first sentence makes the second one true, the answer is one of 'entailment' and 'not_entailment'.",
            "Request you to decide if the first sentence makes the second one true. The answer chooses 'entailment' or 'not_entailment', do not say other words.",
        ],
        'french': [
            "I would like that you decide if the first sentence makes the second one true, and that you respond by 'entailment' or 'not_entailment'.",
            "Could you have the kindness to decide if the first sentence makes the second one true? Answer with 'entailment' or 'not_entailment', please.",
            "It is a question here of deciding if the first sentence makes the second one true; one responds with 'entailment' or 'not_entailment'.",
            "In reading the text, decide if the first sentence makes the second one true and indicate 'entailment' or 'not_entailment'.",
        ],
        'arabic': [
            "O reader, decide if the first sentence makes the second one true and answer with 'entailment' or 'not_entailment' and nothing more than that.",
            "It is requested from you that you decide if the first sentence makes the second one true, so answer 'entailment' or 'not_entailment'.",
            "Look in the text well, then decide if the first sentence makes the second one true, and the answer is either 'entailment' or 'not_entailment'.",
            "Upon you to decide if the first sentence makes the second one true; choose between 'entailment' and 'not_entailment' only.",
        ],
        'spanish': [
            "Please, decide if the first sentence makes the second one true and respond with 'entailment' or 'not_entailment'.",
            "I need that you decide if the first sentence makes the second one true; the answer has to be 'entailment' or 'not_entailment'.",
            "Give a look to the text and decide if the first sentence makes the second one true, saying 'entailment' or 'not_entailment'.",
            "Is it possible that you decide if the first sentence makes the second one true? Respond only 'entailment' or 'not_entailment'.",
        ],
        'japanese': [
            "Regarding the following text, please decide if the first sentence makes the second one true, and answer 'entailment' or 'not_entailment'.",
            "The text is shown below. Decide if the first sentence makes the second one true, and answer as 'entailment' or 'not_entailment', please.",
            "Sorry to trouble you, but please decide if the first sentence makes the second one true and reply with 'entailment' or 'not_entailment'.",
            "The relation of the two sentences of this text, which is it, 'entailment' or 'not_entailment'? Please answer.",
        ],
        'korean': [
            "Please decide if the first sentence makes the second one true about the following text, and answer as 'entailment' or 'not_entailment'.",
            "Text is given. Decide if the first sentence makes the second one true and select 'entailment' or 'not_entailment'.",
            "This text, decide if the first sentence makes the second one true and then among 'entailment' and 'not_entailment' please choose one.",
            "Please kindly decide if the first sentence makes the second one true; the answer must be among 'entailment' and 'not_entailment'.",
        ],
    },
    'wnli': {
        'chinese': [
            "Please according to the content of the text, find who the pronoun means and decide if the second sentence follows, answer 'entailment' or 'not_entailment'.",
            "Read the following text carefully, then find who the pronoun means and decide if the second sentence follows; only can answer 'entailment' or 'not_entailment'.",
            "For this text, you need to find who the pronoun means and decide if the second sentence follows, the answer is one of 'entailment' and 'not_entailment'.",
            "Request you to find who the pronoun means and decide if the second sentence follows. The answer chooses 'entailment' or 'not_entailment', do not say other words.",
        ],
        'french': [
            "I would like that you find who the pronoun means and decide if the second sentence follows, and that you respond by 'entailment' or 'not_entailment'.",
            "Could you have the kindness to find who the pronoun means and decide if the second sentence follows? Answer with 'entailment' or 'not_entailment', please.",
            "It is a question here of finding who the pronoun means and deciding if the second sentence follows; one responds with 'entailment' or 'not_entailment'.",
            "In reading the text, find who the pronoun means and decide if the second sentence follows and indicate 'entailment' or 'not_entailment'.",
        ],
        'arabic': [
            "O reader, find who the pronoun means and decide if the second sentence follows and answer with 'entailment' or 'not_entailment' and nothing more than that.",
            "It is requested from you that you find who the pronoun means and decide if the second sentence follows, so answer 'entailment' or 'not_entailment'.",
            "Look in the text well, then find who the pronoun means and decide if the second sentence follows, and the answer is either 'entailment' or 'not_entailment'.",
            "Upon you to find who the pronoun means and decide if the second sentence follows; choose between 'entailment' and 'not_entailment' only.",
        ],
        'spanish': [
            "Please, find who the pronoun means and decide if the second sentence follows and respond with 'entailment' or 'not_entailment'.",
            "I need that you find who the pronoun means and decide if the second sentence follows; the answer has to be 'entailment' or 'not_entailment'.",
            "Give a look to the text and find who the pronoun means and decide if the second sentence follows, saying 'entailment' or 'not_entailment'.",
            "Is it possible that you find who the pronoun means and decide if the second sentence follows? Respond only 'entailment' or 'not_entailment'.",
        ],
        'japanese': [
            "Regarding the following text, please find who the pronoun means and decide if the second sentence follows, and answer 'entailment' or 'not_entailment'.",
            "The text is shown below. Find who the pronoun means and decide if the second sentence follows, and answer as 'entailment' or 'not_entailment', please.",
            "Sorry to trouble you, but please find who the pronoun means and decide if the second sentence follows and reply with 'entailment' or 'not_entailment'.",
            "The relation of the two sentences of this text, which is it, 'entailment' or 'not_entailment'? Please answer.",
        ],
        'korean': [
            "Please find who the pronoun means and decide if the second sentence follows about the following text, and answer as 'entailment' or 'not_entailment'.",
            "Text is given. Find who the pronoun means and decide if the second sentence follows and select 'entailment' or 'not_entailment'.",
            "This text, find who the pronoun means and decide if the second sentence follows and then among 'entailment' and 'not_entailment' please choose one.",
            "Please kindly find who the pronoun means and decide if the second sentence follows; the answer must be among 'entailment' and 'not_entailment'.",
        ],
    },
}
