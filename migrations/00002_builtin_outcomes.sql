-- The built-in outcomes of DOMAIN.md: the KRS and its components, the five building blocks
-- of a lasting relationship, and the loyalty metrics NPS and CES.

-- +goose Up
INSERT INTO outcomes (key, kind, label, label_nl, min, max, top_min, bottom_max, builtin) VALUES
  ('satisfaction',      'scale', 'How satisfied are you with our organisation?',
                                 'Hoe tevreden ben je over onze organisatie?', 1, 7, NULL, NULL, true),
  ('trust',             'scale', 'How much do you trust our organisation?',
                                 'Hoeveel vertrouwen heb je in onze organisatie?', 1, 7, NULL, NULL, true),
  ('trust_cognitive',   'scale', 'Trust: I can rely on what the organisation promises',
                                 'Vertrouwen: ik kan rekenen op wat de organisatie belooft', 1, 7, NULL, NULL, true),
  ('trust_affective',   'scale', 'Trust: I feel the organisation cares about me',
                                 'Vertrouwen: ik voel dat de organisatie om mij geeft', 1, 7, NULL, NULL, true),
  ('love',              'scale', 'How connected do you feel to our organisation?',
                                 'In hoeverre voel je je verbonden met onze organisatie?', 1, 7, NULL, NULL, true),
  ('involvement',       'scale', 'How involved do you feel with our organisation?',
                                 'In hoeverre voel je je betrokken bij onze organisatie?', 1, 7, NULL, NULL, true),
  ('choice_products',   'scale', 'Is there freedom of choice in products or services?',
                                 'In hoeverre is er keuzevrijheid in de keuze voor producten of diensten?', 1, 7, NULL, NULL, true),
  ('choice_channels',   'scale', 'Is there freedom of choice in the communication channels you use?',
                                 'In hoeverre is er keuzevrijheid in het gebruik van communicatiekanalen?', 1, 7, NULL, NULL, true),
  ('fairness',          'scale', 'Do you feel you are treated fairly?',
                                 'Ben je van mening dat je rechtvaardig wordt behandeld?', 1, 7, NULL, NULL, true),
  ('influence',         'scale', 'Do you feel you have influence on our service?',
                                 'Heb je het gevoel dat je invloed hebt op onze dienstverlening?', 1, 7, NULL, NULL, true),
  ('nps',               'net',   'How likely are you to recommend us to friends or family?',
                                 'Hoe waarschijnlijk is het dat je ons aanbeveelt aan vrienden of familie?', 0, 10, 9, 6, true),
  ('ces',               'net',   'The organisation made it easy to get my issue handled',
                                 'De organisatie maakte het mij makkelijk om mijn zaak te regelen', 1, 7, 6, 3, true),
  ('krs',               'composite', 'KlantRelatieScore (satisfaction, trust, love)',
                                 'KlantRelatieScore (tevredenheid, vertrouwen, liefde)', 0, 100, NULL, NULL, true),
  ('freedom_of_choice', 'composite', 'Freedom of choice (products, channels)',
                                 'Keuzevrijheid (producten, kanalen)', 0, 100, NULL, NULL, true);

INSERT INTO outcome_components (outcome_key, component_key, position) VALUES
  ('krs', 'satisfaction', 0), ('krs', 'trust', 1), ('krs', 'love', 2),
  ('freedom_of_choice', 'choice_products', 0), ('freedom_of_choice', 'choice_channels', 1);

-- +goose Down
DELETE FROM outcome_components WHERE outcome_key IN ('krs', 'freedom_of_choice');
DELETE FROM outcomes WHERE builtin;
